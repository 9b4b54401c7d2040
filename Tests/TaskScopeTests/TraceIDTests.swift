import Instrumentation
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// A tracked task, request scope or adopted task started inside a span records the span's trace id
/// (read through the process's instrument, as an HTTP client propagates it), and queries find a
/// request's tasks by it.
@Suite(.timeLimit(.minutes(1))) struct TraceIDTests {
    static func unique(_ base: String) -> String { "\(base)-\(UInt64.random(in: 0...UInt64.max))" }

    /// The records of the tasks a test starts, each noted by the task itself (held: a finished one
    /// may leave the registry's ring).
    final class Notes: Sendable {
        let records = Mutex<[String: TaskRecord]>([:])
        func note(_ key: String) { records.withLock { $0[key] = TaskScope.ownRecord } }
    }

    @Test func eachPropagationFormatsTraceIDIsRead() {
        let w3c = "4bf92f3577b34da6a3ce929d0e0e4736"
        #expect(TraceIDs.traceID(header: "traceparent", value: "00-\(w3c)-00f067aa0ba902b7-01")?.id == w3c)
        #expect(
            TraceIDs.traceID(header: "Traceparent", value: "00-\(w3c.uppercased())-00f067aa0ba902b7-01")?.id == w3c,
            "header names and ids are read ignoring case")
        #expect(
            TraceIDs.traceID(
                header: "traceparent", value: "00-\(String(repeating: "0", count: 32))-00f067aa0ba902b7-01")
                == nil, "W3C's invalid all-zero id")
        #expect(TraceIDs.traceID(header: "traceparent", value: "00-abc-00f067aa0ba902b7-01") == nil, "not 32 digits")
        #expect(TraceIDs.traceID(header: "traceparent", value: "garbage") == nil)
        #expect(
            TraceIDs.traceID(header: "b3", value: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1")?.id
                == "80f198ee56343ba864fe8b2a57d3eff7")
        #expect(TraceIDs.traceID(header: "X-B3-TraceId", value: "463ac35c9f6413ad")?.id == "463ac35c9f6413ad")
        #expect(
            TraceIDs.traceID(header: "uber-trace-id", value: "5b8aa5a2d2c872e8321cf37308d69df2:051581bf3cb55c13:0:1")?
                .id == "5b8aa5a2d2c872e8321cf37308d69df2")
        #expect(
            TraceIDs.traceID(
                header: "X-Amzn-Trace-Id", value: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8")?
                .id == "1-5759e988-bd862e3fe1be46a994272793")
        #expect(TraceIDs.traceID(header: "in-memory-trace-id", value: "trace-7")?.id == "trace-7")
        #expect(TraceIDs.traceID(header: "tracestate", value: "congo=t61rcWkgMzE") == nil, "not a trace id header")
        #expect(TraceIDs.traceID(header: "x-b3-traceid", value: String(repeating: "a", count: 64)) != nil)
        #expect(TraceIDs.traceID(header: "x-b3-traceid", value: String(repeating: "a", count: 65)) == nil, "too long")
        #expect(TraceIDs.traceID(header: "x-b3-traceid", value: "a b") == nil, "no spaces")
        #expect(TraceIDs.traceID(header: "x-b3-traceid", value: "") == nil)
    }

    @Test func traceparentWinsOverTheOtherFormatsAnInstrumentWrites() {
        /// An instrument that writes these headers for any context.
        struct Writes: Instrument {
            let headers: KeyValuePairs<String, String>
            func extract<Carrier, Extract: Extractor>(
                _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
            ) where Extract.Carrier == Carrier {}
            func inject<Carrier, Inject: Injector>(
                _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
            ) where Inject.Carrier == Carrier {
                for (key, value) in headers { injector.inject(value, forKey: key, into: &carrier) }
            }
        }
        let several = Writes(headers: [
            "in-memory-trace-id": "in-memory", "X-B3-TraceId": "463ac35c9f6413ad",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "uber-trace-id": "5b8aa5a2d2c872e8:051581bf3cb55c13:0:1",
        ])
        #expect(TraceIDs.of(.topLevel, instrument: several) == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(
            TraceIDs.of(.topLevel, instrument: Writes(headers: [:])) == nil,
            "a tracer that propagates nothing gives no id")
    }

    @Test func aRequestsScopeAndItsChildrenCarryItsTraceAndQueriesFindThem() async throws {
        let trace = TestTracing.newTraceID()
        let other = TestTracing.newTraceID()
        let route = Self.unique("GET /orders/{id}")
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let notes = Notes()
        let request = Task {  // a framework's task, in the span its tracing middleware opened
            await ServiceContext.withValue(TestTracing.context(trace: trace)) {
                await TaskScope.scope(route) {
                    notes.note("scope")
                    let child = Task.tracked("\(route) lookup") {
                        notes.note("child")
                        await TaskScope.waiting(on: "db.query") { for await _ in gate {} }
                    }
                    await child.value
                }
            }
        }
        let unrelated = Task {
            await ServiceContext.withValue(TestTracing.context(trace: other)) {
                await Task.tracked("\(route) other request") { notes.note("other") }.value
            }
        }
        await unrelated.value
        await Task.tracked("\(route) untraced") { notes.note("untraced") }.value
        try await eventually("the child waits") {
            notes.records.withLock { $0["child"] }.map { TaskScope.registry.info($0).state == .waiting } ?? false
        }
        let held = notes.records.withLock { $0 }
        let scope = try #require(held["scope"])
        let child = try #require(held["child"])
        #expect(TaskScope.registry.info(scope).trace == trace)
        #expect(TaskScope.registry.info(child).trace == trace, "a child started in the request inherits its span")
        #expect(TaskScope.registry.info(try #require(held["other"])).trace == other)
        #expect(TaskScope.registry.info(try #require(held["untraced"])).trace == nil, "outside any span: no trace")

        var byTrace = TaskQuery(limit: 10)
        byTrace.trace = trace.uppercased()
        let page = TaskScope.registry.page(byTrace)
        #expect(page.total == 2, "the scope and its child: \(page.tasks.map(\.name))")
        #expect(Set(page.tasks.map(\.id)) == [scope.id, child.id])

        // `/` search: a trace id pasted (or its start) finds the request's tasks.
        let searched = TaskScope.registry.page(TaskQuery(text: String(trace.prefix(12)).uppercased(), limit: 10))
        #expect(Set(searched.tasks.map(\.id)) == [scope.id, child.id])

        // The JSON a snapshot or page carries has it.
        var writer = JSONWriter(capacity: 256)
        TaskScope.registry.info(child).write(to: &writer)
        #expect(String(decoding: writer.bytes, as: UTF8.self).contains("\"trace\":\"\(trace)\""))

        open.finish()
        await request.value
        #expect(TaskScope.registry.info(scope).trace == trace, "kept when the scope finishes")
        #expect(TaskScope.registry.page(byTrace).total == 2, "finished tasks of the trace are still found")
    }

    /// A long-lived worker started outside any span handles each message in a span of the
    /// message's trace: the tasks it starts there are in that trace, not in its own (none).
    @Test func anUntracedWorkersChildrenTakeTheTraceOfTheSpanTheyStartIn() async throws {
        let (first, second) = (TestTracing.newTraceID(), TestTracing.newTraceID())
        let name = Self.unique("message handler")
        let worker = Task.tracked(Self.unique("worker")) {
            for trace in [first, second] {
                await ServiceContext.withValue(TestTracing.context(trace: trace)) {
                    await Task.tracked(name) {}.value
                }
            }
            return TaskScope.ownRecord
        }
        let record = try #require(await worker.value)
        #expect(TaskScope.registry.info(record).trace == nil)
        let handlers = TaskScope.registry.records { $0.name == name }.sorted { $0.id < $1.id }
        #expect(handlers.map { TaskScope.registry.info($0).trace } == [first, second])
    }

    @Test func aFailedTaskKeepsItsTraceBesideItsError() async throws {
        struct Failure: Error {}
        let trace = TestTracing.newTraceID()
        let name = Self.unique("failing")
        let task = Task {
            ServiceContext.withValue(TestTracing.context(trace: trace)) {
                Task<Void, any Error>.tracked(name) { throw Failure() }
            }
        }
        _ = await task.value.result
        let record = try #require(TaskScope.registry.records { $0.name == name }.first)
        let info = TaskScope.registry.info(record)
        #expect(info.outcome == .failed)
        #expect(info.error?.hasSuffix("Failure") == true)
        #expect(info.trace == trace)
    }

    @Test func anUntrackedTaskSeenWaitingInASpanCarriesItsTrace() async throws {
        let trace = TestTracing.newTraceID()
        let (jobs, inbox) = TrackedChannel<Int>.make(capacity: 0, name: Self.unique("jobs"))
        let waiter = Task {
            await ServiceContext.withValue(TestTracing.context(trace: trace)) {
                _ = try? await inbox.receive()
            }
        }
        var byTrace = TaskQuery(limit: 10)
        byTrace.trace = trace
        try await eventually("the plain task is adopted, with its trace") {
            TaskScope.registry.page(byTrace).tasks.contains {
                $0.adopted == true && $0.wait == WaitReason.channelReceive
            }
        }
        try await jobs.send(1)
        await waiter.value
    }
}
