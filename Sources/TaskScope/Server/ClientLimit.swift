import Foundation
import Synchronization

/// How many clients the agent serves at once, and who is counted.
///
/// The cap is the configured `maxClients` or half the descriptors the process had free
/// when the agent started (soft `RLIMIT_NOFILE` less those open then), whichever is
/// fewer, so that however many clients connect the host keeps the other half for itself.
/// And since the host may open more later, a client is also refused while the process's
/// lowest free descriptor is within ``reserve`` of the limit.
final class ClientLimit: Sendable {
    /// The most clients served at once.
    let cap: Int
    /// The soft descriptor limit when the agent started, `nil` when unlimited.
    let softLimit: Int?
    /// Descriptors below the soft limit that the agent leaves to the host: a sixteenth, 8 at least.
    let reserve: Int
    private let count = Atomic<Int>(0)
    /// Set while clients are being refused, so that one refusal per episode is logged.
    private let refusing = Atomic<Bool>(false)

    init(
        configured: Int, softLimit: Int? = ClientLimit.softDescriptorLimit(), inUse: Int = ClientLimit.openDescriptors()
    ) {
        self.softLimit = softLimit
        reserve = softLimit.map { max(8, $0 / 16) } ?? 0
        guard let softLimit else {
            cap = configured
            return
        }
        cap = max(1, min(configured, (softLimit - inUse) / 2))
    }

    /// Whether the process is short of descriptors now: the lowest free one (which the kernel
    /// hands out next, so every one below it is in use) is within ``reserve`` of the soft
    /// limit. Costs a `dup` and a `close`.
    func isHostShortOfDescriptors() -> Bool {
        guard let softLimit else { return false }
        let probe = dup(STDERR_FILENO)
        guard probe >= 0 else { return errno == EMFILE || errno == ENFILE }
        close(probe)
        return Int(probe) >= softLimit - reserve
    }

    /// Clients served now.
    var current: Int { count.load(ordering: .relaxed) }

    /// Counts a new client if there is room; `false` when the cap is reached.
    func admit() -> Bool {
        var value = count.load(ordering: .relaxed)
        while value < cap {
            let (exchanged, original) = count.compareExchange(
                expected: value, desired: value + 1, ordering: .relaxed)
            if exchanged {
                refusing.store(false, ordering: .relaxed)
                return true
            }
            value = original
        }
        return false
    }

    /// Counts a client let in in place of one being closed, whose `release()` is on its way:
    /// until then the count is over the cap by the one closing.
    func admitInPlaceOfEvicted() { count.add(1, ordering: .relaxed) }

    /// Whether this refusal is the first since clients were last admitted (the one to log).
    func noteRefusal() -> Bool { !refusing.exchange(true, ordering: .relaxed) }

    /// Uncounts a client that has gone.
    func release() { count.subtract(1, ordering: .relaxed) }

    /// The process's soft descriptor limit, `nil` when unlimited.
    static func softDescriptorLimit() -> Int? {
        var limit = rlimit()
        #if os(Linux)
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < Int.max else {
            return nil
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// The descriptors open in this process (Linux: `/proc/self/fd`, less the one listing it).
    static func openDescriptors() -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return max(0, entries - 1)
    }
}
