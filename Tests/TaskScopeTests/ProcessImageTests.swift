import Testing

@testable import TaskScope

/// The code of a process read from its maps: executable file mappings only, each address placed
/// in its module's file.
@Suite struct ProcessImageTests {
    static let maps = """
        55d0c0a00000-55d0c0a40000 r--p 00000000 08:01 123 /usr/bin/orders
        55d0c0a40000-55d0c0b00000 r-xp 00040000 08:01 123 /usr/bin/orders
        55d0c0b00000-55d0c0b10000 rw-p 00100000 08:01 123 /usr/bin/orders
        7f0000000000-7f0000028000 r--p 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
        7f0000028000-7f0000100000 r-xp 00028000 08:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
        7f0000200000-7f0000201000 rw-p 00000000 00:00 0
        7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
        7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0                          [vdso]
        """

    @Test func onlyExecutableFileMappingsAreCodeEachInItsModulesFile() throws {
        let image = ProcessImage(maps: Self.maps)
        #expect(image.modules.map(\.path) == ["/usr/bin/orders", "/usr/lib/x86_64-linux-gnu/libc.so.6"])
        #expect(image.code.count == 2)
        let inOrders = try #require(image.fileOffset(of: 0x55d0_c0a4_0010))
        #expect(inOrders.module == 0 && inOrders.offset == 0x40010)
        let inLibc = try #require(image.fileOffset(of: 0x7f00_0002_8100))
        #expect(inLibc.module == 1 && inLibc.offset == 0x28100)
        #expect(!image.isCode(0x55d0_c0a0_0010), "a read-only mapping is not code")
        #expect(!image.isCode(0x55d0_c0b0_0010), "nor a writable one")
        #expect(!image.isCode(0x7ffd_0010_0010), "the vdso has no file to name it by")
        #expect(!image.isCode(0x10))
    }
}
