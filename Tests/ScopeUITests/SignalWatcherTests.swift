import Foundation
import Synchronization
import TestSupport
import Testing

@testable import ScopeUI

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct SignalWatcherTests {
    /// The disposition of `number`, as a number (`SIG_DFL` 0, `SIG_IGN` 1, else a handler's address).
    static func disposition(_ number: Int32) -> Int {
        var current = sigaction()
        sigaction(number, nil, &current)
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
    }

    @Test func everySignalArrivesEvenWithBusyThreadsAndTheDispositionIsRestored() async throws {
        signal(SIGUSR2, SIG_IGN)
        defer { signal(SIGUSR2, SIG_DFL) }
        #expect(Self.disposition(SIGUSR2) == 1)
        let received = Mutex(0)
        let watcher = SignalWatcher(signals: [SIGUSR2]) { number in
            if number == SIGUSR2 { received.withLock { $0 += 1 } }
        }
        #expect(Self.disposition(SIGUSR2) > 1)
        // Threads that do not block the signal: with SIG_IGN and a dispatch source, any of
        // them could take it and drop it. They wake often without burning the CPU other
        // tests run on.
        let stop = Atomic(false)
        for _ in 0..<4 {
            Thread.detachNewThread {
                while !stop.load(ordering: .relaxed) { usleep(500) }
            }
        }
        defer { stop.store(true, ordering: .relaxed) }
        for round in 1...20 {
            kill(getpid(), SIGUSR2)
            try await eventually("signal \(round) handled") { received.withLock { $0 } == round }
        }
        watcher.cancel()
        #expect(Self.disposition(SIGUSR2) == 1, "SIG_IGN was there before and is back")
        watcher.cancel()
        #expect(Self.disposition(SIGUSR2) == 1)
    }

    @Test func theDefaultDispositionComesBackToo() {
        #expect(Self.disposition(SIGUSR1) == 0)
        let watcher = SignalWatcher(signals: [SIGUSR1]) { _ in }
        #expect(Self.disposition(SIGUSR1) > 1)
        watcher.cancel()
        #expect(Self.disposition(SIGUSR1) == 0)
    }
}
