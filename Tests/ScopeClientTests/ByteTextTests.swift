import Testing

@testable import ScopeClient

@Suite struct ByteTextTests {
    @Test func sizesReadAndPrintInBinaryUnits() {
        #expect(ByteText.format(64 << 20) == "64 MiB")
        #expect(ByteText.format(2 << 30) == "2 GiB")
        #expect(ByteText.format(1536) == "1536 bytes")
        #expect(ByteText.format(3 << 10) == "3 KiB")
        #expect(ByteText.parse("4096") == 4096)
        #expect(ByteText.parse("512M") == 512 << 20)
        #expect(ByteText.parse("8G") == 8 << 30)
        #expect(ByteText.parse("2 GiB") == 2 << 30)
        #expect(ByteText.parse("1k") == 1024)
        for nonsense in ["", "0", "-1", "lots", "1.5G", "G", "99999999999999999999", "9999999999999G"] {
            #expect(ByteText.parse(nonsense) == nil, "\(nonsense)")
        }
    }
}
