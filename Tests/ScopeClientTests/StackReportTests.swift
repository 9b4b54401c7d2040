import Foundation
import ScopeClient
import ScopeProtocol
import Testing

/// The text report by stack: each frame's function, then where it is, in the words every other
/// view of a stack uses (``StackFrame/place``).
@Suite struct StackReportTests {
    @Test func eachFrameSaysItsFunctionThenItsPlace() {
        let frames = [
            StackFrame(function: nil, module: "libswift_Concurrency.so", offset: 0x659d0),
            StackFrame(
                function: "static Orders.Shop.queryDatabase(Int) async -> Int", file: "/src/Orders/Shop.swift",
                line: 193, module: "Orders", offset: 0x10),
            StackFrame(function: "static Orders.Shop.checkout(Int) async -> Int", module: "Orders", offset: 0x2a),
        ]
        let list = StackList(
            total: 1, groups: [StackGroup(stack: 1, reason: "db.query", count: 2, longest: 2, sampleIDs: [4, 5])],
            stacks: [StackInfo(id: 1, frames: frames, truncated: true)])
        let text = StackReport.render(
            list, process: "orders", pid: 31337, at: Date(timeIntervalSince1970: 1_795_925_844))
        #expect(
            text == """
                taskscope stacks of orders (pid 31337) at 2026-11-29T04:17:24Z
                2 waiting tasks in 1 group

                2 tasks waiting on db.query for up to 2.0s  (tasks 4 5)
                    libswift_Concurrency.so+0x659d0
                        libswift_Concurrency.so+0x659d0
                    static Orders.Shop.queryDatabase(Int) async -> Int
                        /src/Orders/Shop.swift:193
                    static Orders.Shop.checkout(Int) async -> Int
                        Orders+0x2a
                    … deeper frames not read

                """)
    }
}
