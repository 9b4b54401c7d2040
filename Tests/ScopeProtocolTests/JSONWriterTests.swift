import Foundation
import Testing

@testable import ScopeProtocol

@Suite struct JSONWriterTests {
    private func roundTrip(_ task: TaskInfo) throws -> TaskInfo {
        var writer = JSONWriter()
        task.write(to: &writer)
        return try JSONDecoder().decode(TaskInfo.self, from: Data(writer.bytes))
    }

    @Test func writesATaskThatDecodesToTheSameValue() throws {
        let full = TaskInfo(
            id: 12, name: "fetch-user", parent: 3, state: .finished, outcome: .failed, error: "MyApp.DBError",
            wait: nil, waitSite: nil, spawnSite: SourceSite(file: "App/Fetch.swift", line: 40, function: "run()"),
            created: 1_764_387_000.123, inState: 2.5, cancelled: true)
        #expect(try roundTrip(full) == full)
        let waiting = TaskInfo(
            id: 1, name: "w", state: .waiting, wait: "db.query", waitSite: SourceSite(file: "A.swift", line: 1),
            spawnSite: SourceSite(file: "B.swift", line: 2), created: 0, inState: 0.001)
        #expect(try roundTrip(waiting) == waiting)
        let adopted = TaskInfo(
            id: 2, name: "plain", state: .waiting, wait: "channel.receive", waitSite: SourceSite(file: "A", line: 1),
            spawnSite: SourceSite(file: "(untracked)", line: 0), created: 0, inState: 0, resource: 9, adopted: true)
        #expect(try roundTrip(adopted) == adopted)
    }

    @Test func escapesEverythingJSONRequires() throws {
        let name = "quote\" backslash\\ newline\n tab\t cr\r bell\u{07} nul\u{0} ünïcödé 🚀 </script>"
        let task = TaskInfo(
            id: 1, name: name, state: .active, spawnSite: SourceSite(file: "f\"\\.swift", line: 1), created: 0,
            inState: 0)
        #expect(try roundTrip(task).name == name)
        #expect(try roundTrip(task).spawnSite.file == "f\"\\.swift")
    }

    @Test func matchesTheKeysOfCodable() throws {
        let task = TaskInfo(
            id: 5, name: "n", parent: 1, state: .waiting, wait: "sleep", waitSite: SourceSite(file: "a", line: 2),
            spawnSite: SourceSite(file: "b", line: 3, function: "f()"), created: 10.5, inState: 1.25, cancelled: false)
        var writer = JSONWriter()
        task.write(to: &writer)
        let written = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? NSDictionary
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(task)) as? NSDictionary
        #expect(written == encoded)
    }

    @Test func writesNumbersJSONCanCarry() throws {
        var writer = JSONWriter()
        writer.raw("[")
        writer.number(.infinity)
        writer.raw(",")
        writer.number(.nan)
        writer.raw(",")
        writer.number(3)
        writer.raw(",")
        writer.number(0.125)
        writer.raw("]")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[0,0,3,0.125]")
    }
}

@Suite struct ChunkFramingTests {
    @Test func readsTheFramingOfAChunkLine() throws {
        let line = Wire.chunkPrefix(id: 42, kind: Wire.tasksChunk) + Array("[1,2]}".utf8)
        let header = try #require(Wire.chunkHeader(line))
        #expect(header.id == 42)
        #expect(header.kind == "tasks")
        #expect(Array(line[header.dataOffset...]) == Array("[1,2]}".utf8))
    }

    @Test func refusesLinesThatAreNotChunks() {
        #expect(Wire.chunkHeader(Array(#"{"id":1,"result":{}}"#.utf8)) == nil)
        #expect(Wire.chunkHeader(Array(#"{"type":"summary"}"#.utf8)) == nil)
        #expect(Wire.chunkHeader(Array(#"{"id":,"chunk":"x","data":1}"#.utf8)) == nil)
        #expect(Wire.chunkHeader(Array(#"{"id":1,"chunk":"x""#.utf8)) == nil)
        #expect(Wire.chunkHeader([UInt8]()) == nil)
    }
}
