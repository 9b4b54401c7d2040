import Instrumentation

/// The trace id of the span the current code runs in, as swift-distributed-tracing carries it.
///
/// A span's context (`ServiceContext.current`) holds its trace id under a key private to the
/// tracer, so the portable way to read it is the one a tracer offers every HTTP client: the
/// process's instrument injects the context into a carrier, and the carrier keeps the trace id
/// of whichever propagation format the instrument writes. Read, in this order of preference:
/// W3C `traceparent` (swift-otel and most tracers), B3 (`b3`, `X-B3-TraceId`), Jaeger's
/// `uber-trace-id`, AWS X-Ray's `X-Amzn-Trace-Id` root, and the `InMemoryTracer`'s
/// `in-memory-trace-id`. An instrument that writes none of them gives no trace id.
///
/// A task its traced tracked parent starts takes the parent's trace id instead: a request's
/// children run in its trace (a task that opens a new root trace for its children is rare), and
/// the injection is the dearest part of a spawn in a traced request.
///
/// Cost outside a span: one task-local read. Inside one: the instrument's inject (its own
/// lock and a few small strings), once per request scope, adopted task, or tracked task whose
/// parent has no trace.
enum TraceIDs {
    /// The longest trace id kept; a longer value is not a trace id any format writes.
    static let maxLength = 64

    /// The trace id of a task spawned here by `parent` (the current tracked task or its ancestor):
    /// the parent's when the parent itself spawns it and has one, else the current span's. Only the
    /// parent's own task finishes its record (which replaces its notes), so only there is the
    /// parent's trace read without its shard's lock.
    static func forChild(of parent: TaskRecord?) -> String? {
        if let parent, parent.isOwned(byTaskKey: TaskScope.currentTaskKey()), let trace = parent.traceID {
            return trace
        }
        return current()
    }

    /// The trace id of the current span, or `nil` outside one.
    static func current() -> String? {
        guard let context = ServiceContext.current else { return nil }
        return of(context, instrument: InstrumentationSystem.instrument)
    }

    /// The trace id `instrument` propagates for `context`, or `nil`.
    static func of(_ context: ServiceContext, instrument: any Instrument) -> String? {
        var carrier = TraceCarrier()
        instrument.inject(context, into: &carrier, using: TraceCarrierInjector())
        return carrier.best
    }

    /// The trace id of one propagation header's value, or `nil` when it holds none.
    static func traceID(header key: String, value: String) -> (id: String, preference: Int)? {
        let id: Substring?
        let preference: Int
        // Header names come lowercased from most tracers: no new string for those.
        let name = key.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? key.lowercased() : key
        switch name {
        case "traceparent":
            // version-traceid-parentid-flags: `00-` and 32 hex digits, then `-`.
            let utf8 = value.utf8
            guard utf8.count >= 36 else { return nil }
            let start = utf8.index(utf8.startIndex, offsetBy: 3)
            let end = utf8.index(start, offsetBy: 32)
            guard utf8[utf8.index(before: start)] == UInt8(ascii: "-"), utf8[end] == UInt8(ascii: "-") else {
                return nil
            }
            id = Substring(utf8[start..<end])
            preference = 0
        case "b3":
            // traceid-spanid[-sampled[-parentspanid]]
            id = value.split(separator: "-", omittingEmptySubsequences: false).first
            preference = 1
        case "x-b3-traceid":
            id = Substring(value)
            preference = 1
        case "uber-trace-id":
            // traceid:spanid:parentid:flags
            id = value.split(separator: ":", omittingEmptySubsequences: false).first
            preference = 2
        case "x-amzn-trace-id":
            // Root=1-5759e988-bd862e3fe1be46a994272793;Parent=...;Sampled=1
            id =
                value.split(separator: ";").lazy.compactMap { field -> Substring? in
                    let pair = field.split(separator: "=", maxSplits: 1)
                    return pair.count == 2 && pair[0].lowercased() == "root" ? pair[1] : nil
                }.first
            preference = 3
        case "in-memory-trace-id":
            id = Substring(value)
            preference = 4
        default:
            return nil
        }
        guard let id, isTraceID(id) else { return nil }
        let lowercase = !id.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        return (lowercase ? String(id) : id.lowercased(), preference)
    }

    /// Whether `text` can be a trace id: 1 to 64 printable ASCII characters, no space, not only
    /// zeros (the invalid id of W3C and B3).
    static func isTraceID(_ text: Substring) -> Bool {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return false }
        return !bytes.allSatisfy { $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "-") }
    }
}

/// What an instrument's inject writes, reduced to the trace id of the preferred format.
struct TraceCarrier {
    var best: String?
    var preference = Int.max
}

/// Keeps the trace id headers of an injection and drops the rest.
struct TraceCarrierInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout TraceCarrier) {
        guard let (id, preference) = TraceIDs.traceID(header: key, value: value), preference < carrier.preference
        else { return }
        carrier.best = id
        carrier.preference = preference
    }
}
