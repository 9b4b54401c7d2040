import Foundation
import ScopeProtocol
import TestSupport
import Testing

@testable import ScopeClient

/// What the client refuses to trust on disk: another user's socket directory, a temporary
/// file of a process still running, a FIFO nobody reads.
@Suite(.timeLimit(.minutes(2))) struct ClientTrustTests {
    @Test(.enabled(if: geteuid() == 0, "needs root, to give a directory to another user"))
    func aSocketDirectoryOfAnotherUserIsSkippedWithTheReason() async throws {
        let directory = try makeTemporaryDirectory("theirs")
        defer { removeTree(directory) }
        let path = "\(directory)/4242.sock"
        let server = try FakeServer(
            path: path, greeting: FakeServer.agentHello(protocol: 1), answer: FakeServer.summaryReply(uptime: "1"))
        defer { server.stop() }
        let location = SocketLocation(environment: ["TASKSCOPE_DIR": directory])
        // Ours, the agent answers: the fake is a working agent.
        #expect(await ProcessDiscovery.scan(location: location).processes.map(\.socket) == [path])

        #expect(chown(directory, 65534, 65534) == 0)
        let discovery = await ProcessDiscovery.scan(location: location)
        #expect(discovery.processes.isEmpty)
        #expect(discovery.problems.map(\.path) == [directory])
        #expect(discovery.problems.map(\.error) == [.untrustedDirectory(path: directory, owner: 65534)])
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(
            ScopeClientError.untrustedDirectory(path: directory, owner: 65534).description
                == "\(directory) belongs to uid 65534, not to this user (uid \(geteuid())); "
                + "only sockets in a directory of one's own are trusted")
    }

    @Test func aSymbolicLinkForTheSocketDirectoryIsNotTrusted() async throws {
        let directory = try makeTemporaryDirectory("link")
        defer { removeTree(directory) }
        let real = "\(directory)/real"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        let server = try FakeServer(
            path: "\(real)/1.sock", greeting: FakeServer.agentHello(protocol: 1),
            answer: FakeServer.summaryReply(uptime: "1"))
        defer { server.stop() }
        #expect(symlink(real, "\(directory)/link") == 0)
        let discovery = await ProcessDiscovery.scan(
            location: SocketLocation(environment: ["TASKSCOPE_DIR": "\(directory)/link"]))
        #expect(discovery.processes.isEmpty)
        #expect(discovery.problems.map(\.path) == ["\(directory)/link"])
    }

    @Test func exportSweepsTemporaryFilesOfDeadProcessesOnlyOnceNobodyWritesThem() throws {
        let directory = try makeTemporaryDirectory("sweep")
        defer { removeTree(directory) }
        // No pid is this high (Linux's pid_max is at most 2^22): the process is dead.
        let dead = ".old.snap.json.taskscope-tmp-2147480000-17"
        // Dead here, but written a moment ago: maybe a live export in another pid namespace.
        let deadButFresh = ".other.snap.json.taskscope-tmp-2147480001-19"
        let live = ".old.snap.json.taskscope-tmp-\(getpid())-18"
        // Another program's temporary file, with a dead pid in a name like ours.
        let foreign = ".notes.tmp-2147480000-17"
        let unrelated = ".notes.tmp-keep"
        for name in [dead, deadButFresh, live, foreign, unrelated] {
            #expect(FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: Data("x".utf8)))
        }
        let old = time(nil) - 61
        for name in [dead, live, foreign] {
            var times = [timeval(tv_sec: old, tv_usec: 0), timeval(tv_sec: old, tv_usec: 0)]
            #expect(utimes("\(directory)/\(name)", &times) == 0)
        }
        let file = try AtomicFile(path: "\(directory)/new.json")
        try file.write(Array("{}".utf8))
        try file.commit()
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(left == [deadButFresh, live, foreign, unrelated, "new.json"].sorted())
        #expect(AtomicFile.temporaryFileOwner(dead) == 2_147_480_000)
        #expect(AtomicFile.temporaryFileOwner(foreign) == nil)
        #expect(AtomicFile.temporaryFileOwner(".x.taskscope-tmp-12") == nil)
        #expect(AtomicFile.temporaryFileOwner(".taskscope-tmp-12-3") == nil)
        #expect(AtomicFile.temporaryFileOwner("x.taskscope-tmp-12-3") == nil)
    }

    @Test func aSnapshotFileIsReadUpToItsCapAndRefusedPastIt() throws {
        let directory = try makeTemporaryDirectory("cap")
        defer { removeTree(directory) }
        let path = "\(directory)/snap.json"
        let bytes = try JSONEncoder().encode(
            SnapshotDiffTests.document(at: 100, [("db", 3, SnapshotDiffTests.spawn, 2)]))
        #expect(FileManager.default.createFile(atPath: path, contents: bytes))
        // At the cap: read and decoded whole.
        #expect(try SnapshotSource(path: path, maxBytes: bytes.count).document.tasks.count == 3)
        // One byte over: refused before it is read, saying how to raise the limit.
        #expect(
            throws: ScopeClientError.file(
                path: path, reason: "larger than \(bytes.count - 1) bytes; not read (--max-bytes raises the limit)")
        ) {
            _ = try SnapshotSource(path: path, maxBytes: bytes.count - 1)
        }
        // Something with no size to check, that never ends: read up to the cap and no further.
        #expect(
            throws: ScopeClientError.file(
                path: "/dev/zero", reason: "larger than 4 MiB; not read (--max-bytes raises the limit)")
        ) {
            _ = try SnapshotSource(path: "/dev/zero", maxBytes: 4 << 20)
        }
        #expect(throws: ScopeClientError.file(path: directory, reason: "is a directory")) {
            _ = try SnapshotSource(path: directory)
        }
    }

    @Test func aFIFONobodyReadsIsRefusedAfterAGraceAndOneWithAReaderIsWritten() async throws {
        let directory = try makeTemporaryDirectory("fifo")
        defer { removeTree(directory) }
        let fifo = "\(directory)/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: ScopeClientError.file(path: fifo, reason: "no process is reading this FIFO")) {
            _ = try AtomicFile(path: fifo)
        }
        // Refused after the grace a reader has to open it, not waited on for ever.
        #expect(clock.now - start >= AtomicFile.readerGrace)
        #expect(clock.now - start < AtomicFile.readerGrace + .seconds(3))
        // A plain blocking reader, as `cat` is: Foundation's file reading does not wait on a FIFO.
        let reader = Task.detached {
            try await onOwnThread { () -> [UInt8] in
                let fd = open(fifo, O_RDONLY)
                defer { close(fd) }
                var bytes: [UInt8] = []
                var block = [UInt8](repeating: 0, count: 4096)
                while case let count = read(fd, &block, block.count), count > 0 { bytes += block[..<count] }
                return bytes
            }
        }
        // The reader opens the FIFO when its thread runs: until then, there is none.
        var file: AtomicFile?
        try await eventually("the reader has the FIFO open") {
            file = try? AtomicFile(path: fifo)
            return file != nil
        }
        try #require(file).write(Array("through".utf8))
        try #require(file).commit()
        #expect(String(decoding: try await reader.value, as: UTF8.self) == "through")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO, "the FIFO was replaced")
    }

    @Test func aSocketAsOutputIsRefusedAtOnceNotTakenForAFIFO() throws {
        let directory = try makeTemporaryDirectory("sockout")
        defer { removeTree(directory) }
        let socket = "\(directory)/x.sock"
        try FakeServer.bindOnly(socket)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: ScopeClientError.file(path: socket, reason: "cannot write here: No such device or address")) {
            _ = try AtomicFile(path: socket)
        }
        #expect(clock.now - start < AtomicFile.readerGrace)
    }

    @Test func aWriteAfterAbandonFailsInsteadOfWritingAnywhere() throws {
        let directory = try makeTemporaryDirectory("abandon")
        defer { removeTree(directory) }
        let file = try AtomicFile(path: "\(directory)/x.json")
        file.abandon()
        #expect(throws: ScopeClientError.file(path: "\(directory)/x.json", reason: "already closed")) {
            try file.write(Array("late".utf8))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
