import Foundation
import ScopeProtocol
import Synchronization
import TestSupport
import Testing

@testable import TaskScope

/// The async stack reader in process: a task parked three calls deep reads as those three
/// functions in order; memory that is not mapped reads as nothing rather than faulting.
@Suite struct AsyncStackReaderTests {
    @Test func theSelfTestPassesOnThisRuntime() async throws {
        let check = StackSelfTest(symbolicator: Symbolicator(readsLineTables: false))
        check.start()
        // Given time: tests beside it may keep the cooperative pool busy.
        try await eventually("the self-test ends", timeout: .seconds(60)) { check.isDone }
        #expect(check.failure(waiting: .zero) == nil)
    }

    @Test func unmappedMemoryFailsTheReadInsteadOfFaulting() {
        let reader = AsyncStackReader(depth: 8, image: ProcessImage.current())
        var word: (UInt, UInt) = (7, 8)
        let mapped = withUnsafePointer(to: &word) { UInt(bitPattern: $0) }
        let pairs = reader.readPairs([0x10, mapped, 0xFFFF_FFFF_0000, mapped])
        #expect(pairs.count == 4)
        #expect(pairs[0] == nil && pairs[2] == nil)
        #expect(pairs[1]?.0 == 7 && pairs[1]?.1 == 8 && pairs[3]?.1 == 8)
        #expect(reader.read([0x10, 0xFFFF_FFFF_0000]) == [nil, nil], "no task there: no stack")
    }

    @Test func namesReadAsSwiftWritesThem() {
        #expect(
            Symbolicator.readable(
                "(1) await resume partial function for static Shop.(charge in _B1FC0D6F367C3231)(order: "
                    + "Shop.(Order in _B1FC0D6F367C3231)) async -> ()")
                == "static Shop.charge(order: Shop.Order) async -> ()")
        #expect(
            Symbolicator.readable("closure #1 () async -> () in Shop.run()")
                == "closure #1 () async -> () in Shop.run()")
        #expect(Symbolicator.demangle("$s4main6level1ySiScSySiGYaFTY1_").contains("main.level1"))
        #expect(Symbolicator.demangle("memcpy") == "memcpy")
    }

    /// An extension's member reads without the module the extension is declared in, as the
    /// standard library's types read without `Swift.`; taskscope's own keep it, and stay left out.
    @Test func extensionsReadWithoutTheirModule() throws {
        let cases = [
            (
                "(2) await resume partial function for (extension in NIOCore):NIOCore.EventLoopGroup.shutdownGracefully() "
                    + "async throws -> ()",
                "NIOCore.EventLoopGroup.shutdownGracefully() async throws -> ()"
            ),
            (
                "static (extension in Swift):Swift.Comparable.<= infix(A, A) -> Swift.Bool",
                "static Comparable.<= infix(A, A) -> Bool"
            ),
            (
                "(extension in Swift):Swift.MutableCollection< where A: Swift.RandomAccessCollection, "
                    + "A.Swift.Sequence.Element: Swift.Comparable>.sort() -> ()",
                "MutableCollection< where A: RandomAccessCollection, A.Swift.Sequence.Element: Comparable>.sort() -> ()"
            ),
            (
                "closure #1 () -> () in (extension in NIOCore):NIOCore.EventLoop.assertInEventLoop(file: "
                    + "Swift.StaticString, line: Swift.UInt) -> ()",
                "closure #1 () -> () in NIOCore.EventLoop.assertInEventLoop(file: StaticString, line: UInt) -> ()"
            ),
            (
                "static NIOPosix.Posix.socket(domain: NIOCore.NIOBSDSocket.ProtocolFamily, type: (extension in "
                    + "NIOPosix):NIOCore.NIOBSDSocket.SocketType) throws -> Swift.Int32",
                "static NIOPosix.Posix.socket(domain: NIOCore.NIOBSDSocket.ProtocolFamily, type: "
                    + "NIOCore.NIOBSDSocket.SocketType) throws -> Int32"
            ),
            (
                "(1) await resume partial function for static (extension in Orders):Orders.Shop.(charge in "
                    + "_B1FC0D6F367C3231)(order: Swift.Int) async -> ()",
                "static Orders.Shop.charge(order: Int) async -> ()"
            ),
            ("(extension in _Concurrency):Swift.Task.value.getter", "Task.value.getter"),
            // Not an extension's marker (no module and colon): left as it is.
            ("Shop.note(_: (extension in some text) Swift.Int)", "Shop.note(_: (extension in some text) Int)"),
        ]
        for (demangled, readable) in cases {
            #expect(Symbolicator.readable(demangled) == readable)
        }
        let own =
            "(4) suspend resume partial function for (extension in TaskScope):Synchronization.Mutex<A where A == "
            + "TaskScope.TimerState>.sleep(until: Swift.ContinuousClock.Instant) async throws -> Swift.Bool"
        let name = Symbolicator.readable(own)
        #expect(name.hasPrefix("(extension in TaskScope):Synchronization.Mutex<"), "\(name)")
        #expect(Symbolicator.isMachinery(StackFrame(function: name, module: "app", offset: 0)))
        let inOwn = Symbolicator.readable(
            "closure #1 () async -> () in static (extension in TaskScope):Swift.Task.tracked()")
        #expect(Symbolicator.isMachinery(StackFrame(function: inOwn, module: "app", offset: 0)), "\(inOwn)")
    }

    /// The names cache holds at most its bound (65,536 addresses by default, as docs/SECURITY.md
    /// says): named past it, it starts over, never growing beyond.
    @Test func theNameCacheNeverHoldsMoreThanItsBound() throws {
        #expect(Symbolicator.defaultCacheLimit == 65_536)
        #expect(Symbolicator().cacheLimit == 65_536)
        let bound = 16
        let symbolicator = Symbolicator(cacheLimit: bound)
        // Addresses in the C library's code: a module without line tables, named at once.
        let image = ProcessImage.current()
        let libc = try #require(image.modules.firstIndex { $0.path.contains("/libc.so") || $0.path.contains("/libc-") })
        let range = try #require(image.code.first { $0.module == libc && $0.end - $0.start > 4_096 })
        var highest = 0
        for index in 0..<(3 * bound + 5) {
            _ = symbolicator.frame(range.start + UInt(index) * 16)
            highest = max(highest, symbolicator.cachedCount)
            #expect(symbolicator.cachedCount <= bound, "after \(index + 1) addresses")
        }
        #expect(highest == bound, "the cache filled up to its bound before starting over")
    }
}

/// The block fast path (contexts found in the task's first kilobyte) and the slow path (every
/// level read apart) read the same chains, for tasks parked shallow and deep (deep chains leave
/// the block, so both paths are taken within one chain).
@Suite struct AsyncStackBlockTests {
    @inline(never) static func park(_ depth: Int, _ stream: AsyncStream<Int>) async -> Int {
        if depth == 0 {
            for await value in stream { return value }
            return 0
        }
        return await park(depth - 1, stream) + 1
    }

    @Test(arguments: [1, 3, 40])
    func theBlockAndTheLevelByLevelReadsAgree(depth: Int) async throws {
        let (stream, end) = AsyncStream<Int>.makeStream()
        let tasks = (0..<8).map { _ in Task.detached { await Self.park(depth, stream) } }
        let addresses = tasks.map { unsafeBitCast($0, to: UInt.self) }
        let image = ProcessImage.current()
        var fast: [AsyncStackReader.Chain?] = []
        try await eventually("the tasks are parked \(depth) deep") {
            fast = AsyncStackReader(depth: 128, image: image).read(addresses)
            return fast.allSatisfy { ($0?.functions.count ?? 0) > depth }
        }
        var slow = AsyncStackReader(depth: 128, image: image)
        slow.blockBytes = 0
        #expect(slow.read(addresses) == fast)
        end.finish()
        for task in tasks { _ = await task.value }
    }
}

/// Blocks are read ``AsyncStackReader/blocksAtOnce`` tasks at a time: a read of exactly that
/// many and one that takes a second batch read as the level-by-level read does.
@Suite struct AsyncStackBatchTests {
    @Test(arguments: [AsyncStackReader.blocksAtOnce, AsyncStackReader.blocksAtOnce + 3])
    func tasksOverMoreThanOneBatchReadAsTheSlowPathReadsThem(count: Int) async throws {
        let (stream, end) = AsyncStream<Int>.makeStream()
        let tasks = (0..<count).map { index in Task.detached { await AsyncStackBlockTests.park(index % 3, stream) } }
        let addresses = tasks.map { unsafeBitCast($0, to: UInt.self) }
        let image = ProcessImage.current()
        var fast: [AsyncStackReader.Chain?] = []
        try await eventually("the tasks are parked") {
            fast = AsyncStackReader(depth: 128, image: image).read(addresses)
            return zip(fast, 0..<count).allSatisfy { chain, index in (chain?.functions.count ?? 0) > index % 3 }
        }
        var slow = AsyncStackReader(depth: 128, image: image)
        slow.blockBytes = 0
        #expect(slow.read(addresses) == fast)
        #expect(Set(fast.compactMap { $0 }).count == 3, "three depths, three chains")
        end.finish()
        for task in tasks { _ = await task.value }
    }
}

/// Interning as chains are read: the last chain is compared first (most tasks wait where their
/// neighbour does), the table's index otherwise; both must give one number per distinct chain.
@Suite struct ChainTableTests {
    @Test func neighboursAndStrangersGetTheNumbersTheIndexGives() {
        var table = AsyncStackReader.ChainTable()
        let a: [UInt] = [0x10, 0x20, 0x30]
        let b: [UInt] = [0x10, 0x20]
        // Runs of one chain (the last-chain path) and alternations (the index) alike.
        let sequence = [a, a, a, b, a, b, b, a]
        let numbers = sequence.map { table.intern($0, truncated: false) }
        #expect(numbers == [0, 0, 0, 1, 0, 1, 1, 0])
        #expect(table.chains.map(\.functions) == [a, b])
        // The same functions cut short at the depth are another stack.
        #expect(table.intern(a, truncated: true) == 2)
        #expect(table.intern(a, truncated: false) == 0)
        #expect(table.intern(a, truncated: true) == 2)
        #expect(table.chains.count == 3)
    }

    @Test func tasksAtTwoDepthsInterleavedReadAsTheSlowPathReadsThem() async throws {
        let (stream, end) = AsyncStream<Int>.makeStream()
        // Alternating depths: every task's chain differs from its neighbour's.
        let depths = (0..<12).map { $0 % 2 == 0 ? 1 : 3 }
        let tasks = depths.map { depth in Task.detached { await AsyncStackBlockTests.park(depth, stream) } }
        let addresses = tasks.map { unsafeBitCast($0, to: UInt.self) }
        let image = ProcessImage.current()
        var table = AsyncStackReader.ChainTable()
        var numbers: [Int?] = []
        try await eventually("the tasks are parked") {
            table = AsyncStackReader.ChainTable()
            numbers = AsyncStackReader(depth: 128, image: image).read(addresses, into: &table)
            return zip(numbers, depths).allSatisfy { number, depth in
                number.map { table.chains[$0].functions.count > depth } ?? false
            }
        }
        #expect(table.chains.count == 2, "one chain per depth")
        #expect(numbers == depths.map { $0 == 1 ? numbers[0] : numbers[1] })
        var slow = AsyncStackReader(depth: 128, image: image)
        slow.blockBytes = 0
        #expect(slow.read(addresses) == numbers.map { $0.map { table.chains[$0] } })
        // A task that moved on while it was read gets no stack, and adds none.
        var moved = AsyncStackReader.ChainTable()
        let some = AsyncStackReader(depth: 128, image: image).read(addresses, into: &moved) { $0 % 2 == 0 }
        #expect(some.enumerated().allSatisfy { index, number in (number == nil) == (index % 2 == 1) })
        #expect(moved.chains.count == 1)
        end.finish()
        for task in tasks { _ = await task.value }
    }
}

/// A chain laid out by hand, so that where its contexts lie is known: the reader's window (the
/// KiB ending with a context outside the task's block) is read whole when it is mapped, and
/// the context's two words alone when the window reaches into a page that cannot be read; a
/// task whose block runs into such a page has its head read alone.
@Suite struct AsyncStackWindowTests {
    /// Four pages, the first and last unreadable; contexts on the second, the task on the third
    /// (at its end when `atEdge`, so that its block runs into the last page).
    final class Layout {
        let region: UnsafeMutableRawPointer
        let address: UInt
        let functions: [UInt]

        /// Contexts at `offsets` (bytes into the second page), each the parent of the one before;
        /// their functions in two modules by turns; the one resumed at level `notCode` (when
        /// given) an address that is not code.
        init(offsets: [Int], atEdge: Bool, notCode: Int? = nil) throws {
            let mapped = mmap(nil, 4 * 4_096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let mapped, mapped != MAP_FAILED else { throw POSIXError(.ENOMEM) }
            region = mapped
            mprotect(region, 4_096, PROT_NONE)
            mprotect(region + 3 * 4_096, 4_096, PROT_NONE)
            let image = ProcessImage.current()
            let large = image.code.filter { $0.end - $0.start > 4_096 }
            guard let first = large.first, let second = large.first(where: { $0.module != first.module }) else {
                throw POSIXError(.ENOENT)
            }
            // By turns, so that the reader's remembered code range misses and hits.
            functions = (0...offsets.count).map { index in
                index == notCode
                    ? UInt(bitPattern: mapped) + 64 : (index % 2 == 0 ? first : second).start + UInt(index * 64)
            }
            address = UInt(bitPattern: region) + 2 * 4_096 + (atEdge ? 4_096 - 128 : 0)
            let task = UnsafeMutablePointer<UInt>(bitPattern: address)!
            let page = UInt(bitPattern: region) + 4_096
            let contexts = offsets.map { page + UInt($0) }
            task[AsyncStackReader.resumeFunctionWord] = functions[0]
            task[AsyncStackReader.resumeContextWord] = contexts[0]
            for (index, context) in contexts.enumerated() {
                let words = UnsafeMutablePointer<UInt>(bitPattern: context)!
                // Its caller's context and the function it resumes in; the outermost's are zero.
                words[0] = index + 1 < contexts.count ? contexts[index + 1] : 0
                words[1] = index + 1 < contexts.count ? functions[index + 1] : 0
            }
        }

        deinit { munmap(region, 4 * 4_096) }
    }

    @Test(
        arguments: [
            // A window reaching into the unreadable page: each context read alone.
            [0, 64, 128],
            // Contexts deep in the page, each below the one before as a slab allocates them: one
            // window holds them all.
            [2_048, 1_536, 1_200, 1_104],
        ], [false, true])
    func chainsOutsideTheBlockReadAsTheLevelByLevelReadReadsThem(offsets: [Int], atEdge: Bool) throws {
        let layout = try Layout(offsets: offsets, atEdge: atEdge)
        let image = ProcessImage.current()
        let fast = AsyncStackReader(depth: 16, image: image).read([layout.address])
        var slow = AsyncStackReader(depth: 16, image: image)
        slow.blockBytes = 0
        #expect(fast == slow.read([layout.address]))
        let expected = Array(layout.functions.dropLast())
        #expect(fast == [AsyncStackReader.Chain(functions: expected, truncated: false)])
    }

    /// A task that resumes while its chain is read (its head changes) and suspends again in the
    /// same wait is read again: its new chain, not the torn one, and not nothing.
    @Test(arguments: [1, 3])
    func aChainTornByItsTaskResumingIsReadAgain(attempts: Int) throws {
        let layout = try Layout(offsets: [2_048, 1_536], atEdge: false)
        // A second chain on the same page: where the task suspends next.
        let page = UInt(bitPattern: layout.region) + 4_096
        let next = [page + 3_072, page + 2_560]
        let resumed = layout.functions.map { $0 + 8 }
        for (index, context) in next.enumerated() {
            let words = UnsafeMutablePointer<UInt>(bitPattern: context)!
            words[0] = index + 1 < next.count ? next[index + 1] : 0
            words[1] = index + 1 < next.count ? resumed[index + 1] : 0
        }
        let task = UnsafeMutablePointer<UInt>(bitPattern: layout.address)!
        var asked = 0
        var table = AsyncStackReader.ChainTable()
        let numbers = AsyncStackReader(depth: 16, image: ProcessImage.current()).read(
            [layout.address], into: &table, attempts: attempts
        ) { _ in
            // Asked once the first chain is read: the task has resumed and suspended elsewhere.
            asked += 1
            if asked == 1 {
                task[AsyncStackReader.resumeFunctionWord] = resumed[0]
                task[AsyncStackReader.resumeContextWord] = next[0]
            }
            return true
        }
        if attempts == 1 {
            #expect(numbers == [nil], "torn, and not read again")
            #expect(table.chains.isEmpty)
        } else {
            let number = try #require(numbers[0])
            #expect(table.chains[number].functions == Array(resumed.prefix(next.count)))
            #expect(table.chains.count == 1, "the torn chain is not kept")
            #expect(asked == 2)
        }
    }

    @Test(arguments: [1, 2])
    func aChainResumingInDataIsNoStack(level: Int) throws {
        let layout = try Layout(offsets: [2_048, 1_536, 1_200], atEdge: false, notCode: level)
        let image = ProcessImage.current()
        #expect(AsyncStackReader(depth: 16, image: image).read([layout.address]) == [nil])
        var slow = AsyncStackReader(depth: 16, image: image)
        slow.blockBytes = 0
        #expect(slow.read([layout.address]) == [nil])
    }
}
