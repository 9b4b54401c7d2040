import Testing

@testable import ScopeProtocol

/// Where a stack frame is, said one way by every report and screen: `file:line` where the binary
/// has line tables, the file alone without a line, `module+0xoffset` without either.
@Suite struct StackFramePlaceTests {
    static let named = StackFrame(
        function: "static Orders.Shop.checkout(Int) async -> Int", file: "/src/Orders/Shop.swift", line: 183,
        module: "Orders", offset: 0x1f40)
    static let fileOnly = StackFrame(
        function: "Orders.Shop.run()", file: "/src/Orders/Shop.swift", module: "Orders", offset: 0x20)
    static let bare = StackFrame(function: nil, module: "libswift_Concurrency.so", offset: 0x659d0)

    @Test func aFramesPlaceIsItsLineWhereKnownElseItsModuleAndOffset() {
        #expect(Self.named.place == "/src/Orders/Shop.swift:183")
        #expect(Self.fileOnly.place == "/src/Orders/Shop.swift")
        #expect(Self.bare.place == "libswift_Concurrency.so+0x659d0")
        #expect(Self.named.moduleOffset == "Orders+0x1f40")
    }

    @Test func theDescriptionAndTheShortNameSayTheSamePlace() {
        #expect(Self.named.description == "static Orders.Shop.checkout(Int) async -> Int at /src/Orders/Shop.swift:183")
        #expect(Self.fileOnly.description == "Orders.Shop.run() at /src/Orders/Shop.swift")
        #expect(StackFrame(function: "f()", module: "M", offset: 1).description == "f()")
        #expect(Self.bare.description == "libswift_Concurrency.so+0x659d0")
        #expect(Self.bare.shortName == "libswift_Concurrency.so+0x659d0")
    }
}
