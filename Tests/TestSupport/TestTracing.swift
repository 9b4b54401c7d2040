import Instrumentation
import Synchronization

/// A tracer's propagation for tests: the process's instrument, bootstrapped once (swift-distributed-
/// tracing allows one bootstrap per process), injecting a W3C `traceparent` for the trace id a test
/// puts in its `ServiceContext` with ``TestTracing/context(trace:)``.
public enum TestTracing {
    /// The trace id a test's context carries.
    enum TraceKey: ServiceContextKey {
        typealias Value = String
    }

    struct W3CInstrument: Instrument {
        func extract<Carrier, Extract: Extractor>(
            _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
        ) where Extract.Carrier == Carrier {
            guard let header = extractor.extract(key: "traceparent", from: carrier) else { return }
            let fields = header.split(separator: "-")
            if fields.count == 4 { context[TraceKey.self] = String(fields[1]) }
        }

        func inject<Carrier, Inject: Injector>(
            _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
        ) where Inject.Carrier == Carrier {
            // A tracer writes other headers beside its trace context, which a reader must pass over.
            injector.inject("congo=t61rcWkgMzE", forKey: "tracestate", into: &carrier)
            guard let trace = context[TraceKey.self] else { return }
            injector.inject("00-\(trace)-00f067aa0ba902b7-01", forKey: "traceparent", into: &carrier)
        }
    }

    private static let bootstrapped: Void = InstrumentationSystem.bootstrap(W3CInstrument())

    /// Bootstraps the test instrument (once per process) and returns a context in trace `trace`
    /// (32 hex digits, as W3C writes a trace id).
    public static func context(trace: String) -> ServiceContext {
        _ = bootstrapped
        var context = ServiceContext.topLevel
        context[TraceKey.self] = trace
        return context
    }

    /// A new random trace id: 32 lowercase hex digits.
    public static func newTraceID() -> String {
        let high = UInt64.random(in: 1...UInt64.max)
        let low = UInt64.random(in: 0...UInt64.max)
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
