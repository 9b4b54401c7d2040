import Foundation

/// The function symbols of one ELF file, from its `.symtab` (or `.dynsym` when stripped), to
/// name addresses that `dladdr` cannot: Swift's async resume functions are internal symbols.
///
/// Cost: built once per module when a stack is first named, a pass over the symbol table
/// (about 10 ms for 100,000 symbols here); 16 bytes per function symbol kept, the names read
/// from the file mapped read-only. Every read is bounds-checked: a truncated or foreign file
/// gives an empty table, never a fault.
final class SymbolTable: Sendable {
    /// Functions at most: past it the rest of the table is ignored.
    static let maxSymbols = 4_000_000

    private let file: Data
    /// Sorted by address: link-time address, size, offset of the name in `file`.
    private let addresses: [UInt64]
    private let sizes: [UInt32]
    private let names: [UInt32]
    /// The loadable segments: file offset, link-time address, size in the file.
    private let segments: [(offset: UInt64, address: UInt64, size: UInt64)]

    /// Whether the file had a full symbol table (`.symtab`) rather than the dynamic one.
    let isComplete: Bool

    var count: Int { addresses.count }

    init?(path: String) {
        guard let file = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped),
            let parsed = Self.parse(file)
        else { return nil }
        self.file = file
        (addresses, sizes, names, segments, isComplete) = parsed
    }

    /// The link-time address of the byte at `fileOffset` (as symbols and line tables name it),
    /// through the loadable segment that holds it; the offset itself when none does.
    func linkAddress(fileOffset: UInt64) -> UInt64 {
        for segment in segments where segment.offset <= fileOffset && fileOffset - segment.offset < segment.size {
            return segment.address &+ (fileOffset - segment.offset)
        }
        return fileOffset
    }

    /// The function holding `linkAddress` (a link-time address): its raw (mangled) name and
    /// the offset into it, or nil.
    func symbol(at linkAddress: UInt64) -> (name: String, offset: UInt64)? {
        var low = 0
        var high = addresses.count
        while low < high {
            let middle = (low + high) / 2
            if addresses[middle] <= linkAddress { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return nil }
        let index = low - 1
        let offset = linkAddress - addresses[index]
        // A symbol without a size is trusted a little way only.
        guard offset < (sizes[index] == 0 ? 4_096 : UInt64(sizes[index])) else { return nil }
        guard let name = Self.string(in: file, at: Int(names[index])) else { return nil }
        return (name, offset)
    }

    private typealias Parsed = (
        addresses: [UInt64], sizes: [UInt32], names: [UInt32],
        segments: [(offset: UInt64, address: UInt64, size: UInt64)], complete: Bool
    )

    private static func parse(_ file: Data) -> Parsed? {
        let reader = ByteReader(file)
        // 64-bit little-endian ELF only.
        guard file.count >= 64, reader.u32(0) == 0x464C_457F, reader.u8(4) == 2, reader.u8(5) == 1 else { return nil }
        guard let sectionTable = reader.u64(0x28), let sectionSize = reader.u16(0x3A),
            let sectionCount = reader.u16(0x3C), sectionSize >= 64,
            let programTable = reader.u64(0x20), let programSize = reader.u16(0x36), let programCount = reader.u16(0x38)
        else { return nil }
        var segments: [(offset: UInt64, address: UInt64, size: UInt64)] = []
        for index in 0..<min(Int(programCount), 64) {
            let header = Int(clamping: programTable) &+ index &* Int(programSize)
            if reader.u32(header) == 1, let offset = reader.u64(header &+ 8), let address = reader.u64(header &+ 16),
                let size = reader.u64(header &+ 32)
            {  // PT_LOAD
                segments.append((offset, address, size))
            }
        }
        struct Section {
            var type: UInt32
            var offset: Int
            var size: Int
            var link: Int
        }
        var sections: [Section] = []
        for index in 0..<Int(sectionCount) {
            let header = Int(clamping: sectionTable) &+ index &* Int(sectionSize)
            guard let type = reader.u32(header &+ 4), let offset = reader.u64(header &+ 24),
                let size = reader.u64(header &+ 32), let link = reader.u32(header &+ 40)
            else { return nil }
            sections.append(
                Section(type: type, offset: Int(clamping: offset), size: Int(clamping: size), link: Int(link)))
        }
        let symtab = sections.firstIndex { $0.type == 2 } ?? sections.firstIndex { $0.type == 11 }
        guard let table = symtab.map({ sections[$0] }), table.link < sections.count else { return nil }
        let strings = sections[table.link]
        guard table.offset >= 0, table.size >= 0, table.offset <= file.count, table.size <= file.count - table.offset,
            strings.offset >= 0, strings.offset <= file.count, strings.size <= file.count - strings.offset
        else { return nil }

        var entries: [(UInt64, UInt32, UInt32)] = []
        let count = min(table.size / 24, maxSymbols)
        entries.reserveCapacity(count / 2)
        for index in 0..<count {
            let symbol = table.offset + index * 24
            guard let name = reader.u32(symbol), let info = reader.u8(symbol + 4), let value = reader.u64(symbol + 8),
                let size = reader.u64(symbol + 16)
            else { break }
            guard info & 0xF == 2, value != 0, Int(name) < strings.size else { continue }  // STT_FUNC
            entries.append((value, UInt32(clamping: size), UInt32(clamping: strings.offset + Int(name))))
        }
        entries.sort { $0.0 < $1.0 }
        return (entries.map(\.0), entries.map(\.1), entries.map(\.2), segments, table.type == 2)
    }

    /// The NUL-terminated string at `offset`, at most 4 KiB long.
    static func string(in file: Data, at offset: Int) -> String? {
        guard offset >= 0, offset < file.count else { return nil }
        return file.withUnsafeBytes { raw -> String? in
            let bytes = raw.bindMemory(to: UInt8.self)
            let limit = min(bytes.count, offset + 4_096)
            var end = offset
            while end < limit, bytes[end] != 0 { end += 1 }
            guard end < limit || end == bytes.count else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[offset..<end]), as: UTF8.self)
        }
    }
}

/// Little-endian reads from a file's bytes that return nil past its end.
struct ByteReader {
    let data: Data

    init(_ data: Data) { self.data = data }

    func u8(_ offset: Int) -> UInt8? { read(offset, 1).map(UInt8.init(truncatingIfNeeded:)) }
    func u16(_ offset: Int) -> UInt16? { read(offset, 2).map(UInt16.init(truncatingIfNeeded:)) }
    func u32(_ offset: Int) -> UInt32? { read(offset, 4).map(UInt32.init(truncatingIfNeeded:)) }
    func u64(_ offset: Int) -> UInt64? { read(offset, 8) }

    private func read(_ offset: Int, _ width: Int) -> UInt64? {
        guard offset >= 0, offset <= data.count - width else { return nil }
        return data.withUnsafeBytes { raw in
            var value: UInt64 = 0
            for byte in 0..<width { value |= UInt64(raw[offset + byte]) << (8 * UInt64(byte)) }
            return value
        }
    }
}
