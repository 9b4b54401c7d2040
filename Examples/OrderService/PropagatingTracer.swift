#if Hummingbird
import Tracing

/// A tracer that propagates W3C trace context and records nothing: it stands in for swift-otel's,
/// which a real service bootstraps and which writes the same `traceparent`. A request that comes
/// with a `traceparent` header continues its trace; one without starts a new trace.
struct PropagatingTracer: Tracer {
    typealias Span = NoOpTracer.NoOpSpan

    enum TraceKey: ServiceContextKey {
        typealias Value = String
    }

    enum SpanKey: ServiceContextKey {
        typealias Value = String
    }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> Span {
        var context = context()
        if context[TraceKey.self] == nil { context[TraceKey.self] = Self.newTraceID() }
        context[SpanKey.self] = Self.hex(.random(in: 1...UInt64.max))
        return NoOpTracer.NoOpSpan(context: context)
    }

    func forceFlush() {}

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier) else { return }
        let fields = header.split(separator: "-")
        guard fields.count == 4, fields[1].utf8.count == 32, fields[1].allSatisfy(\.isHexDigit) else { return }
        context[TraceKey.self] = fields[1].lowercased()
    }

    func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let trace = context[TraceKey.self], let span = context[SpanKey.self] else { return }
        injector.inject("00-\(trace)-\(span)-01", forKey: "traceparent", into: &carrier)
    }

    static func newTraceID() -> String { hex(.random(in: 1...UInt64.max)) + hex(.random(in: 0...UInt64.max)) }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
#endif
