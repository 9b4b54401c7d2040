#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The clock of the registry: monotonic nanoseconds, read cheaply on the hot
/// path, and turned into wall-clock Unix seconds only when someone reads.
///
/// A registry reads its time from its clock (``now()``): the coarse clock, or, for tests,
/// a ``ManualTime`` that moves only when told to.
struct AgentClock: Sendable {
    /// Wall-clock seconds at the moment `monotonicBase` was read.
    let wallBase: Double
    /// Monotonic nanoseconds at the moment `wallBase` was read.
    let monotonicBase: UInt64
    /// The time to read instead of the coarse clock, if any.
    let manual: ManualTime?

    /// The coarse clock, or `manual` when given (whose start is then the monotonic base).
    init(manual: ManualTime? = nil) {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        wallBase = Double(wall.tv_sec) + Double(wall.tv_nsec) / 1e9
        monotonicBase = manual?.now ?? AgentClock.precise()
        self.manual = manual
    }

    /// Monotonic nanoseconds now: the coarse clock's, or the manual time's.
    @inline(__always)
    func now() -> UInt64 {
        if let manual { return manual.now }
        return AgentClock.coarse()
    }

    /// Monotonic nanoseconds from the coarse clock: a few nanoseconds to read,
    /// a few milliseconds of resolution, which is all "time in state" needs.
    @inline(__always)
    static func coarse() -> UInt64 {
        #if os(Linux)
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
        #else
        return precise()
        #endif
    }

    /// Monotonic nanoseconds at full resolution.
    static func precise() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// Unix seconds of a monotonic reading.
    func wall(_ monotonic: UInt64) -> Double {
        wallBase + (Double(monotonic) - Double(monotonicBase)) / 1e9
    }

    /// Unix seconds of the reading `now` that rows read at `now` were measured at, to the
    /// millisecond as their times are: the `capturedAt` of a page or a snapshot.
    func capturedAt(_ now: UInt64) -> Double {
        (wall(now) * 1000).rounded() / 1000
    }

    /// Seconds between two monotonic readings, never negative.
    static func seconds(from start: UInt64, to end: UInt64) -> Double {
        end > start ? Double(end - start) / 1e9 : 0
    }
}
