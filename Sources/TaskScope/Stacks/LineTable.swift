// LineTable.swift: a small, defensive reader of DWARF `.debug_line` (versions 2 to 5) from 64-bit little-endian ELF
// files, for turning code addresses into `file:line`.
//
// It runs inside other people's processes, so it never traps on malformed input: every read is bounds-checked,
// address arithmetic wraps (`&+`, `&*`), conversions are checked or clamped, and a bad or unsupported section or unit
// is skipped (the initializer returns nil when nothing usable is left). Depends only on Foundation/Glibc.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The line table of one ELF file, built once from its `.debug_line` (DWARF 4 and 5; versions 2 and 3 too) and then
/// queried by binary search. Immutable and `Sendable`: build it once and share it between threads.
///
/// Supported: every line-number program (unit) in `.debug_line`, 32- and 64-bit DWARF, header versions 2 to 5; the
/// DWARF 5 entry formats `DW_LNCT_path`/`DW_LNCT_directory_index` with the forms `DW_FORM_string`, `line_strp`,
/// `strp`, `udata`, `data1/2/4/8/16`, `block`/`block1/2/4`, `sdata`, `flag`, `sec_offset` and `strx*` (the last are
/// skipped, as resolving them needs `.debug_str_offsets` and the unit's `DW_AT_str_offsets_base`); all standard
/// opcodes, the extended opcodes `end_sequence`, `set_address`, `define_file` and `set_discriminator` (others are
/// skipped by their length), special opcodes, and VLIW `op_index` arithmetic.
///
/// Not supported (documented limitations):
/// - Compressed sections (`SHF_COMPRESSED`, or GNU `.zdebug_*`): the initializer returns nil.
/// - Separate debug files (`.gnu_debuglink`, `/usr/lib/debug/.build-id/...`): pass that file's path yourself; its
///   addresses are the same link-time addresses.
/// - In DWARF 2–4, directory index 0 means the unit's compilation directory, which lives in `.debug_info`
///   (`DW_AT_comp_dir`), not in the line table; such files are reported by their name as written (often a
///   relative path or a bare file name). DWARF 5 line tables carry that directory and are joined fully.
/// - Rows with line 0 ("no source line", e.g. compiler-generated code) answer nil.
final class LineTable: Sendable {
    /// One row of the flattened table: from `address` up to the next row's address the code comes from
    /// `paths[file]`, line `line`. `file` values past the end of `paths` mean "no location" (the first address
    /// after a sequence, or a row whose file index was invalid).
    struct Row: Sendable, Equatable {
        var address: UInt64
        var file: UInt32
        var line: UInt32
    }

    /// `file` value of the row that closes a sequence (the first address after its last instruction).
    static let endOfSequence = UInt32.max
    /// `file` value of a row whose file index did not name a file of its unit.
    static let unknownFile = UInt32.max - 1
    /// The largest `.debug_line`, `.debug_line_str` or `.debug_str` section this reader accepts (256 MiB).
    static let maxSectionSize: UInt64 = 256 << 20
    /// The most rows kept (16 bytes each, so 1 GiB); rows past this are dropped.
    static let maxRows = 1 << 26

    /// Rows sorted by address, sequences not overlapping (see `LineTableBuilder.finish`).
    private let rows: [Row]
    /// Deduplicated source paths that `Row.file` indexes.
    private let paths: [String]

    /// How many rows it holds (for tests/bounds). O(1). The table's memory is about `rowCount * 16` bytes plus the
    /// deduplicated path strings.
    var rowCount: Int { rows.count }

    private init(rows: [Row], paths: [String]) {
        self.rows = rows
        self.paths = paths
    }

    /// Reads `path`'s ELF section headers and `.debug_line` (and `.debug_line_str`/`.debug_str` for DWARF 5 forms).
    /// nil when the file has no line table or is not a 64-bit little-endian ELF. Bounded: refuses files' line
    /// sections over 256 MiB.
    ///
    /// Cost: reads the ELF and section headers and the whole `.debug_line` with `pread` (not `mmap`, so that a file
    /// truncated under us cannot raise SIGBUS; the file must be a regular file, so a FIFO or device cannot block us),
    /// plus `.debug_line_str` and, only if a DWARF 5 unit uses `DW_FORM_strp`, `.debug_str`. Time is linear in
    /// the size of `.debug_line` plus a sort of the sequences (roughly 0.1 s for 10 MiB of `.debug_line` in a
    /// release build); the section buffers are freed before it returns. Call it once per module, off any hot path.
    convenience init?(elfPath: String) {
        guard let file = ELFFile(path: elfPath), let sections = file.lineSections() else { return nil }
        guard let debugLine = file.read(sections.debugLine) else { return nil }
        let debugLineStr = sections.debugLineStr.flatMap { file.read($0) }
        let debugStrHeader = sections.debugStr
        var builder = LineTableBuilder(
            debugLine: debugLine,
            debugLineStr: debugLineStr,
            loadDebugStr: { debugStrHeader.flatMap { file.read($0) } }
        )
        builder.parseAllUnits()
        let (rows, paths) = builder.finish()
        guard !rows.isEmpty else { return nil }
        self.init(rows: rows, paths: paths)
    }

    /// Builds a table from raw section contents (for tests and for callers that already hold the sections).
    /// nil when no row could be decoded. Same cost as `init?(elfPath:)` minus the file reads.
    convenience init?(debugLine: [UInt8], debugLineStr: [UInt8] = [], debugStr: [UInt8] = []) {
        guard UInt64(debugLine.count) <= Self.maxSectionSize, UInt64(debugLineStr.count) <= Self.maxSectionSize,
            UInt64(debugStr.count) <= Self.maxSectionSize
        else { return nil }
        let strBytes = OwnedBytes(copying: debugStr)
        var builder = LineTableBuilder(
            debugLine: OwnedBytes(copying: debugLine),
            debugLineStr: OwnedBytes(copying: debugLineStr),
            loadDebugStr: { strBytes }
        )
        builder.parseAllUnits()
        let (rows, paths) = builder.finish()
        guard !rows.isEmpty else { return nil }
        self.init(rows: rows, paths: paths)
    }

    /// The source location of `address` (a link-time virtual address, as in the ELF's symbol table, i.e. runtime
    /// address minus the module's load bias), or nil: when no sequence covers it, or its row has line 0 or no file.
    ///
    /// Cost: a binary search, O(log rowCount), no allocation (the path string is shared, not copied); thread-safe.
    func location(of address: UInt64) -> (file: String, line: Int)? {
        // The last row whose address is <= `address` (upper bound minus one).
        var low = 0
        var high = rows.count
        while low < high {
            let middle = low + (high - low) / 2
            if rows[middle].address <= address {
                low = middle + 1
            } else {
                high = middle
            }
        }
        guard low > 0 else { return nil }
        let row = rows[low - 1]
        // An end-of-sequence row, or a row without a valid file, covers no code.
        guard row.line != 0, let fileIndex = Int(exactly: row.file), fileIndex < paths.count else { return nil }
        return (paths[fileIndex], Int(row.line))
    }
}

// MARK: - Bytes

/// A heap buffer freed on deinit; lets the parser use raw pointers over sections for the whole build.
private final class OwnedBytes {
    let storage: UnsafeMutableRawBufferPointer

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(storage) }

    init(count: Int) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 0), alignment: 16)
    }

    convenience init(copying array: [UInt8]) {
        self.init(count: array.count)
        array.withUnsafeBytes { source in
            storage.copyMemory(from: source)
        }
    }

    deinit {
        storage.deallocate()
    }
}

private enum ParseError: Error {
    case truncated
    case malformed
    case unsupported
}

/// A bounds-checked little-endian reader over `bytes[position..<end]`. Invariant: 0 <= position <= end <= count.
private struct Cursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) {
        self.bytes = bytes
        self.end = min(max(end, 0), bytes.count)
        self.position = min(max(start, 0), self.end)
    }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position >= end }

    mutating func u8() throws(ParseError) -> UInt8 {
        guard position < end else { throw .truncated }
        let value = bytes[position]
        position += 1
        return value
    }

    mutating func u16() throws(ParseError) -> UInt16 { try fixed(UInt16.self) }
    mutating func u32() throws(ParseError) -> UInt32 { try fixed(UInt32.self) }
    mutating func u64() throws(ParseError) -> UInt64 { try fixed(UInt64.self) }

    private mutating func fixed<T: FixedWidthInteger>(_ type: T.Type) throws(ParseError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .truncated }
        let value = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += size
        return T(littleEndian: value)
    }

    /// A little-endian unsigned integer of `size` bytes (1 to 8).
    mutating func unsigned(size: Int) throws(ParseError) -> UInt64 {
        guard size >= 1, size <= 8 else { throw .unsupported }
        guard remaining >= size else { throw .truncated }
        var value: UInt64 = 0
        for index in 0..<size {
            value |= UInt64(bytes[position + index]) << (8 * index)
        }
        position += size
        return value
    }

    /// A section offset: 4 bytes in 32-bit DWARF, 8 in 64-bit DWARF.
    mutating func offset(size: Int) throws(ParseError) -> UInt64 {
        size == 8 ? try u64() : UInt64(try u32())
    }

    mutating func uleb() throws(ParseError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            if shift < 64 {
                result |= UInt64(byte & 0x7f) << shift
            }
            shift &+= 7
            if byte & 0x80 == 0 { return result }
        }
    }

    mutating func sleb() throws(ParseError) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            if shift < 64 {
                result |= UInt64(byte & 0x7f) << shift
            }
            shift &+= 7
            if byte & 0x80 == 0 {
                if shift < 64, byte & 0x40 != 0 {
                    result |= ~UInt64(0) << shift
                }
                return Int64(bitPattern: result)
            }
        }
    }

    mutating func skip(_ count: UInt64) throws(ParseError) {
        guard count <= UInt64(remaining) else { throw .truncated }
        position += Int(count)
    }

    /// Skips a NUL-terminated string and returns the offset of its first byte.
    mutating func cString() throws(ParseError) -> Int {
        let start = position
        var index = position
        while index < end {
            if bytes[index] == 0 {
                position = index + 1
                return start
            }
            index += 1
        }
        throw .truncated
    }

    /// Moves to `newPosition`, which must lie within the cursor's range.
    mutating func seek(to newPosition: Int) throws(ParseError) {
        guard newPosition >= position, newPosition <= end else { throw .malformed }
        position = newPosition
    }
}

extension UnsafeRawBufferPointer {
    /// The NUL-terminated string at `offset` decoded as UTF-8 (invalid bytes replaced), or nil when `offset` is
    /// out of bounds or the string is unterminated.
    fileprivate func cString(at offset: UInt64) -> String? {
        guard offset < UInt64(count) else { return nil }
        let start = Int(offset)
        var index = start
        while index < count {
            if self[index] == 0 {
                return String(decoding: UnsafeRawBufferPointer(rebasing: self[start..<index]), as: UTF8.self)
            }
            index += 1
        }
        return nil
    }

    /// Whether the byte at `offset` is `/` (an absolute path), without decoding the string.
    fileprivate func startsWithSlash(at offset: UInt64) -> Bool {
        offset < UInt64(count) && self[Int(offset)] == UInt8(ascii: "/")
    }
}

// MARK: - ELF

/// Where a section lies in the file.
private struct SectionHeader {
    var offset: UInt64
    var size: UInt64
}

/// An open ELF file read with `pread`. Closed on deinit.
private final class ELFFile {
    private let descriptor: Int32
    private let fileSize: UInt64

    private static let shtNoBits: UInt32 = 8
    private static let shfCompressed: UInt64 = 0x800
    private static let maxSectionHeaderBytes: UInt64 = 64 << 20
    private static let maxNameTableBytes: UInt64 = 64 << 20

    init?(path: String) {
        // O_NONBLOCK: opening a FIFO must not block; we then accept regular files only.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
            let size = UInt64(exactly: status.st_size), size >= 64
        else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
        self.fileSize = size
    }

    deinit {
        close(descriptor)
    }

    /// Reads `count` bytes at `offset`, or nil when out of the file's bounds, over the size limit, or on error.
    func read(offset: UInt64, count: UInt64, limit: UInt64 = LineTable.maxSectionSize) -> OwnedBytes? {
        guard count <= limit, offset <= fileSize, count <= fileSize - offset, let byteCount = Int(exactly: count)
        else { return nil }
        let buffer = OwnedBytes(count: byteCount)
        var done = 0
        while done < byteCount {
            guard let base = buffer.storage.baseAddress,
                let position = off_t(exactly: offset &+ UInt64(done))
            else { return nil }
            let result = pread(descriptor, base + done, byteCount - done, position)
            if result < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if result == 0 { return nil }  // The file shrank under us.
            done += result
        }
        return buffer
    }

    func read(_ section: SectionHeader) -> OwnedBytes? {
        read(offset: section.offset, count: section.size)
    }

    /// The headers of `.debug_line` (required), `.debug_line_str` and `.debug_str`, or nil when the file is not a
    /// 64-bit little-endian ELF, has no `.debug_line` with contents, or its `.debug_line` is compressed.
    func lineSections() -> (debugLine: SectionHeader, debugLineStr: SectionHeader?, debugStr: SectionHeader?)? {
        guard let header = read(offset: 0, count: 64) else { return nil }
        let elf = header.bytes
        var cursor = Cursor(elf, from: 0, to: 64)
        do {
            guard try cursor.u32() == 0x464c_457f else { return nil }  // "\u{7f}ELF"
            guard try cursor.u8() == 2, try cursor.u8() == 1 else { return nil }  // ELFCLASS64, ELFDATA2LSB
            cursor = Cursor(elf, from: 0x28, to: 64)
            let sectionHeaderOffset = try cursor.u64()
            cursor = Cursor(elf, from: 0x3a, to: 64)
            let entrySize = UInt64(try cursor.u16())
            var sectionCount = UInt64(try cursor.u16())
            var nameSectionIndex = UInt64(try cursor.u16())
            guard sectionHeaderOffset != 0, entrySize >= 64 else { return nil }

            // Extended numbering: the real count and name-table index live in section header 0.
            if sectionCount == 0 || nameSectionIndex == 0xffff {
                guard let first = read(offset: sectionHeaderOffset, count: 64) else { return nil }
                var zero = Cursor(first.bytes, from: 32, to: 64)
                let size = try zero.u64()
                let link = UInt64(try zero.u32())
                if sectionCount == 0 { sectionCount = size }
                if nameSectionIndex == 0xffff { nameSectionIndex = link }
            }
            let (tableSize, overflow) = sectionCount.multipliedReportingOverflow(by: entrySize)
            guard !overflow, tableSize <= Self.maxSectionHeaderBytes, nameSectionIndex < sectionCount,
                let table = read(offset: sectionHeaderOffset, count: tableSize, limit: Self.maxSectionHeaderBytes)
            else { return nil }

            struct Entry {
                var name: UInt32
                var type: UInt32
                var flags: UInt64
                var header: SectionHeader
            }
            func entry(_ index: UInt64) throws(ParseError) -> Entry {
                let start = index &* entrySize
                guard let startIndex = Int(exactly: start) else { throw .malformed }
                var cursor = Cursor(table.bytes, from: startIndex, to: startIndex + 64)
                let name = try cursor.u32()
                let type = try cursor.u32()
                let flags = try cursor.u64()
                _ = try cursor.u64()  // sh_addr
                let offset = try cursor.u64()
                let size = try cursor.u64()
                return Entry(name: name, type: type, flags: flags, header: SectionHeader(offset: offset, size: size))
            }

            let nameEntry = try entry(nameSectionIndex)
            guard nameEntry.type != Self.shtNoBits,
                let names = read(nameEntry.header.offset, nameEntry.header.size, limit: Self.maxNameTableBytes)
            else { return nil }

            var debugLine: SectionHeader?
            var debugLineStr: SectionHeader?
            var debugStr: SectionHeader?
            var lineIsCompressed = false
            for index in 0..<sectionCount {
                let section = try entry(index)
                guard section.type != Self.shtNoBits, let name = names.bytes.cString(at: UInt64(section.name))
                else { continue }
                let compressed = section.flags & Self.shfCompressed != 0
                switch name {
                case ".debug_line":
                    // Compressed sections (SHF_COMPRESSED, zlib/zstd) are not supported: no table.
                    if compressed { lineIsCompressed = true } else if debugLine == nil { debugLine = section.header }
                case ".debug_line_str":
                    if !compressed, debugLineStr == nil { debugLineStr = section.header }
                case ".debug_str":
                    if !compressed, debugStr == nil { debugStr = section.header }
                default:
                    break
                }
            }
            guard !lineIsCompressed, let debugLine, debugLine.size > 0 else { return nil }
            return (debugLine, debugLineStr, debugStr)
        } catch {
            return nil
        }
    }

    private func read(_ offset: UInt64, _ count: UInt64, limit: UInt64) -> OwnedBytes? {
        read(offset: offset, count: count, limit: limit)
    }
}

// MARK: - Line programs

/// A reference to a NUL-terminated string in one of the three sections.
private struct StringRef {
    enum Section: UInt8 {
        case none
        case debugLine
        case debugLineStr
        case debugStr
    }

    var section: Section
    var offset: UInt64

    static let missing = StringRef(section: .none, offset: 0)
}

/// Decodes every unit of `.debug_line` into sequences of rows, then flattens them (`finish`).
private struct LineTableBuilder {
    private struct FileEntry {
        var name: StringRef
        var directory: UInt64
    }

    /// One complete sequence, `count` rows at `start` in `sequenceRows`, covering [lowPC, highPC).
    private struct Sequence {
        var start: Int
        var count: Int
        var lowPC: UInt64
        var highPC: UInt64
    }

    /// The parts of a unit's header that the program and path resolution need.
    private struct UnitHeader {
        var version: UInt16
        var offsetSize: Int
        var minimumInstructionLength: UInt64
        var maximumOperationsPerInstruction: UInt64
        var lineBase: Int64
        var lineRange: UInt8
        var opcodeBase: UInt8
        var standardOpcodeLengths: [UInt8]
        var directories: [StringRef]
        var files: [FileEntry]
    }

    private let debugLine: OwnedBytes
    private let debugLineStr: OwnedBytes?
    private let loadDebugStr: () -> OwnedBytes?
    private var debugStr: OwnedBytes??

    private var paths: [String] = []
    private var pathIndices: [String: UInt32] = [:]

    /// Rows of every kept sequence, in decoding order.
    private var sequenceRows: [Row] = []
    private var sequences: [Sequence] = []
    /// Rows of the sequence being decoded.
    private var currentRows: [Row] = []
    private var rowLimitReached = false

    typealias Row = LineTable.Row

    init(debugLine: OwnedBytes, debugLineStr: OwnedBytes?, loadDebugStr: @escaping () -> OwnedBytes?) {
        self.debugLine = debugLine
        self.debugLineStr = debugLineStr
        self.loadDebugStr = loadDebugStr
    }

    // MARK: Units

    mutating func parseAllUnits() {
        let section = debugLine.bytes
        var offset = 0
        while offset < section.count, !rowLimitReached {
            var cursor = Cursor(section, from: offset, to: section.count)
            let unitStart: Int
            let unitEnd: Int
            let offsetSize: Int
            do {
                let length32 = try cursor.u32()
                let length: UInt64
                if length32 == 0xffff_ffff {
                    length = try cursor.u64()
                    offsetSize = 8
                } else if length32 >= 0xffff_fff0 {
                    return  // Reserved length values: cannot find the next unit.
                } else {
                    length = UInt64(length32)
                    offsetSize = 4
                }
                unitStart = cursor.position
                // A unit longer than the section is parsed as far as it goes, then we stop.
                unitEnd = length <= UInt64(cursor.remaining) ? unitStart + Int(length) : section.count
            } catch {
                return
            }
            var unit = Cursor(section, from: unitStart, to: unitEnd)
            do {
                try parseUnit(&unit, offsetSize: offsetSize)
            } catch {
                // Keep the sequences completed before the error; drop the partial one.
                currentRows.removeAll(keepingCapacity: true)
            }
            offset = unitEnd
        }
    }

    private mutating func parseUnit(_ cursor: inout Cursor, offsetSize: Int) throws(ParseError) {
        let header = try parseHeader(&cursor, offsetSize: offsetSize)
        try runProgram(&cursor, header: header)
    }

    private func parseHeader(_ cursor: inout Cursor, offsetSize: Int) throws(ParseError) -> UnitHeader {
        let version = try cursor.u16()
        guard version >= 2, version <= 5 else { throw .unsupported }
        if version >= 5 {
            _ = try cursor.u8()  // address_size; DW_LNE_set_address carries its own size.
            _ = try cursor.u8()  // segment_selector_size
        }
        let headerLength = try cursor.offset(size: offsetSize)
        guard headerLength <= UInt64(cursor.remaining) else { throw .truncated }
        let programStart = cursor.position + Int(headerLength)
        var fields = Cursor(cursor.bytes, from: cursor.position, to: programStart)

        let minimumInstructionLength = UInt64(try fields.u8())
        let maximumOperations = version >= 4 ? UInt64(try fields.u8()) : 1
        _ = try fields.u8()  // default_is_stmt
        let lineBase = Int64(Int8(bitPattern: try fields.u8()))
        let lineRange = try fields.u8()
        let opcodeBase = try fields.u8()
        guard lineRange != 0, opcodeBase != 0 else { throw .malformed }
        var standardOpcodeLengths: [UInt8] = []
        standardOpcodeLengths.reserveCapacity(Int(opcodeBase) - 1)
        for _ in 1..<opcodeBase {
            standardOpcodeLengths.append(try fields.u8())
        }

        var directories: [StringRef] = []
        var files: [FileEntry] = []
        if version >= 5 {
            directories = try parseEntries(&fields, offsetSize: offsetSize).map(\.name)
            files = try parseEntries(&fields, offsetSize: offsetSize)
        } else {
            while true {
                let start = try fields.cString()
                if cursor.bytes[start] == 0 { break }
                directories.append(StringRef(section: .debugLine, offset: UInt64(start)))
            }
            while true {
                let start = try fields.cString()
                if cursor.bytes[start] == 0 { break }
                let directory = try fields.uleb()
                _ = try fields.uleb()  // modification time
                _ = try fields.uleb()  // length
                files.append(
                    FileEntry(name: StringRef(section: .debugLine, offset: UInt64(start)), directory: directory))
            }
        }
        try cursor.seek(to: programStart)
        return UnitHeader(
            version: version,
            offsetSize: offsetSize,
            minimumInstructionLength: minimumInstructionLength,
            maximumOperationsPerInstruction: max(maximumOperations, 1),
            lineBase: lineBase,
            lineRange: lineRange,
            opcodeBase: opcodeBase,
            standardOpcodeLengths: standardOpcodeLengths,
            directories: directories,
            files: files
        )
    }

    /// Reads a DWARF 5 entry-format description and its entries (directories or files).
    private func parseEntries(_ cursor: inout Cursor, offsetSize: Int) throws(ParseError) -> [FileEntry] {
        let formatCount = try cursor.u8()
        var formats: [(contentType: UInt64, form: UInt64)] = []
        for _ in 0..<formatCount {
            formats.append((try cursor.uleb(), try cursor.uleb()))
        }
        let count = try cursor.uleb()
        // Every form takes at least one byte, so a count above the bytes left is corrupt; with no formats the
        // entries are empty, and the same bound keeps the loop short.
        guard count <= UInt64(cursor.remaining) else { throw .malformed }
        var entries: [FileEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            var entry = FileEntry(name: .missing, directory: 0)
            for format in formats {
                let value = try readForm(format.form, &cursor, offsetSize: offsetSize)
                switch format.contentType {
                case 1:  // DW_LNCT_path
                    if case .string(let reference) = value { entry.name = reference }
                case 2:  // DW_LNCT_directory_index
                    if case .number(let index) = value { entry.directory = index }
                default:
                    break  // DW_LNCT_timestamp, _size, _MD5, vendor types.
                }
            }
            entries.append(entry)
        }
        return entries
    }

    private enum FormValue {
        case string(StringRef)
        case number(UInt64)
        case other
    }

    private func readForm(_ form: UInt64, _ cursor: inout Cursor, offsetSize: Int) throws(ParseError) -> FormValue {
        switch form {
        case 0x08:  // DW_FORM_string
            return .string(StringRef(section: .debugLine, offset: UInt64(try cursor.cString())))
        case 0x1f:  // DW_FORM_line_strp
            return .string(StringRef(section: .debugLineStr, offset: try cursor.offset(size: offsetSize)))
        case 0x0e:  // DW_FORM_strp
            return .string(StringRef(section: .debugStr, offset: try cursor.offset(size: offsetSize)))
        case 0x0f:  // DW_FORM_udata
            return .number(try cursor.uleb())
        case 0x0d:  // DW_FORM_sdata
            return .number(UInt64(bitPattern: try cursor.sleb()))
        case 0x0b:  // DW_FORM_data1
            return .number(UInt64(try cursor.u8()))
        case 0x05:  // DW_FORM_data2
            return .number(UInt64(try cursor.u16()))
        case 0x06:  // DW_FORM_data4
            return .number(UInt64(try cursor.u32()))
        case 0x07:  // DW_FORM_data8
            return .number(try cursor.u64())
        case 0x1e:  // DW_FORM_data16 (e.g. an MD5)
            try cursor.skip(16)
        case 0x09:  // DW_FORM_block
            try cursor.skip(try cursor.uleb())
        case 0x0a:  // DW_FORM_block1
            try cursor.skip(UInt64(try cursor.u8()))
        case 0x03:  // DW_FORM_block2
            try cursor.skip(UInt64(try cursor.u16()))
        case 0x04:  // DW_FORM_block4
            try cursor.skip(UInt64(try cursor.u32()))
        case 0x0c:  // DW_FORM_flag
            try cursor.skip(1)
        case 0x17:  // DW_FORM_sec_offset
            try cursor.skip(UInt64(offsetSize))
        case 0x1a:  // DW_FORM_strx: needs .debug_str_offsets and the unit's base; name left unknown.
            _ = try cursor.uleb()
        case 0x25:  // DW_FORM_strx1
            try cursor.skip(1)
        case 0x26:  // DW_FORM_strx2
            try cursor.skip(2)
        case 0x27:  // DW_FORM_strx3
            try cursor.skip(3)
        case 0x28:  // DW_FORM_strx4
            try cursor.skip(4)
        default:
            throw .unsupported  // Unknown size: the rest of the header cannot be read.
        }
        return .other
    }

    // MARK: Program

    private mutating func runProgram(_ cursor: inout Cursor, header: UnitHeader) throws(ParseError) {
        var fileIndices = [UInt32](repeating: Self.unresolved, count: header.files.count)
        var files = header.files
        let lineRange = UInt64(header.lineRange)
        let opcodeBase = header.opcodeBase

        var address: UInt64 = 0
        var opIndex: UInt64 = 0
        var file: UInt64 = 1
        var line: Int64 = 1

        func advance(_ operationAdvance: UInt64) {
            if header.maximumOperationsPerInstruction == 1 {
                address &+= header.minimumInstructionLength &* operationAdvance
            } else {
                let total = opIndex &+ operationAdvance
                address &+= header.minimumInstructionLength &* (total / header.maximumOperationsPerInstruction)
                opIndex = total % header.maximumOperationsPerInstruction
            }
        }

        while !cursor.isAtEnd {
            if rowLimitReached { return }
            let opcode = try cursor.u8()
            if opcode >= opcodeBase {
                // Special opcode: advance address and line, append a row.
                let adjusted = UInt64(opcode - opcodeBase)
                advance(adjusted / lineRange)
                line &+= header.lineBase &+ Int64(adjusted % lineRange)
                appendRow(address, file, line, header, &files, &fileIndices)
                continue
            }
            switch opcode {
            case 0:  // Extended opcode.
                let length = try cursor.uleb()
                guard length <= UInt64(cursor.remaining) else { throw .truncated }
                let end = cursor.position + Int(length)
                var operands = Cursor(cursor.bytes, from: cursor.position, to: end)
                try cursor.seek(to: end)
                guard length > 0 else { continue }
                switch try operands.u8() {
                case 1:  // DW_LNE_end_sequence
                    endSequence(at: address)
                    address = 0
                    opIndex = 0
                    file = 1
                    line = 1
                case 2:  // DW_LNE_set_address (an operand of another size than 1 to 8 bytes is ignored)
                    if operands.remaining >= 1, operands.remaining <= 8 {
                        address = try operands.unsigned(size: operands.remaining)
                        opIndex = 0
                    }
                case 3:  // DW_LNE_define_file (DWARF 2-4)
                    let start = try operands.cString()
                    let directory = try operands.uleb()
                    files.append(
                        FileEntry(name: StringRef(section: .debugLine, offset: UInt64(start)), directory: directory))
                    fileIndices.append(Self.unresolved)
                default:
                    break  // DW_LNE_set_discriminator and vendor opcodes: skipped by length.
                }
            case 1:  // DW_LNS_copy
                appendRow(address, file, line, header, &files, &fileIndices)
            case 2:  // DW_LNS_advance_pc
                advance(try cursor.uleb())
            case 3:  // DW_LNS_advance_line
                line &+= try cursor.sleb()
            case 4:  // DW_LNS_set_file
                file = try cursor.uleb()
            case 5, 12:  // DW_LNS_set_column, DW_LNS_set_isa
                _ = try cursor.uleb()
            case 6, 7, 10, 11:  // negate_stmt, set_basic_block, set_prologue_end, set_epilogue_begin
                break
            case 8:  // DW_LNS_const_add_pc
                advance(UInt64(255 - opcodeBase) / lineRange)
            case 9:  // DW_LNS_fixed_advance_pc
                address &+= UInt64(try cursor.u16())
                opIndex = 0
            default:
                // An opcode this reader does not know: skip its ULEB128 operands as the header declares.
                let index = Int(opcode) - 1
                let count = index < header.standardOpcodeLengths.count ? header.standardOpcodeLengths[index] : 0
                for _ in 0..<count {
                    _ = try cursor.uleb()
                }
            }
        }
    }

    private static let unresolved = UInt32.max

    private mutating func appendRow(
        _ address: UInt64,
        _ fileRegister: UInt64,
        _ line: Int64,
        _ header: UnitHeader,
        _ files: inout [FileEntry],
        _ fileIndices: inout [UInt32]
    ) {
        // DWARF 5 numbers files from 0, earlier versions from 1.
        let index = header.version >= 5 ? fileRegister : fileRegister &- 1
        var pathIndex = LineTable.unknownFile
        if index < UInt64(files.count) {
            let slot = Int(index)
            if fileIndices[slot] == Self.unresolved {
                fileIndices[slot] = intern(path(of: files[slot], header))
            }
            pathIndex = fileIndices[slot]
        }
        guard currentRows.count + sequenceRows.count < LineTable.maxRows else {
            rowLimitReached = true
            return
        }
        let lineNumber = UInt32(clamping: max(line, 0))
        let row = Row(address: address, file: pathIndex, line: lineNumber)
        if let last = currentRows.last {
            if address < last.address { return }  // Out-of-order row (malformed): dropped.
            if address == last.address {
                currentRows[currentRows.count - 1] = row  // Same address: the last row wins, as in llvm.
                return
            }
            if last.file == pathIndex, last.line == lineNumber { return }  // Same location: no new row needed.
        }
        currentRows.append(row)
    }

    private mutating func endSequence(at address: UInt64) {
        defer { currentRows.removeAll(keepingCapacity: true) }
        guard let first = currentRows.first, let last = currentRows.last, address > last.address else { return }
        // Sequences at address 0 or at a tombstone (-1, -2) belong to code the linker dropped.
        guard first.address != 0, first.address < UInt64.max - 1 else { return }
        guard sequenceRows.count + currentRows.count + 1 <= LineTable.maxRows else {
            rowLimitReached = true
            return
        }
        sequences.append(
            Sequence(start: sequenceRows.count, count: currentRows.count + 1, lowPC: first.address, highPC: address))
        sequenceRows.append(contentsOf: currentRows)
        sequenceRows.append(Row(address: address, file: LineTable.endOfSequence, line: 0))
    }

    // MARK: Paths

    private mutating func intern(_ path: String) -> UInt32 {
        if let index = pathIndices[path] { return index }
        guard paths.count < Int(LineTable.unknownFile) else { return LineTable.unknownFile }
        let index = UInt32(paths.count)
        paths.append(path)
        pathIndices[path] = index
        return index
    }

    private mutating func bytes(of section: StringRef.Section) -> UnsafeRawBufferPointer? {
        switch section {
        case .none:
            return nil
        case .debugLine:
            return debugLine.bytes
        case .debugLineStr:
            return debugLineStr?.bytes
        case .debugStr:
            if debugStr == nil { debugStr = .some(loadDebugStr()) }
            return debugStr??.bytes
        }
    }

    private mutating func string(_ reference: StringRef) -> String? {
        bytes(of: reference.section)?.cString(at: reference.offset)
    }

    private mutating func isAbsolute(_ reference: StringRef) -> Bool {
        bytes(of: reference.section)?.startsWithSlash(at: reference.offset) ?? false
    }

    /// The file's path: its name when absolute, else joined to its directory (for DWARF 5, a relative directory is
    /// itself joined to directory 0, the compilation directory).
    private mutating func path(of file: FileEntry, _ header: UnitHeader) -> String {
        guard let name = string(file.name), !name.isEmpty else { return "??" }
        if name.hasPrefix("/") { return name }
        var directory: String?
        if header.version >= 5 {
            if file.directory < UInt64(header.directories.count) {
                let reference = header.directories[Int(file.directory)]
                directory = string(reference)
                if file.directory != 0, !isAbsolute(reference), let base = header.directories.first,
                    let baseName = string(base), let relative = directory
                {
                    directory = Self.join(baseName, relative)
                }
            }
        } else if file.directory >= 1, file.directory <= UInt64(header.directories.count) {
            directory = string(header.directories[Int(file.directory - 1)])
        }
        guard let directory, !directory.isEmpty else { return name }
        return Self.join(directory, name)
    }

    private static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        if name.hasPrefix("/") { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    // MARK: Flattening

    /// Sorts the sequences by start address and concatenates their rows into one array ordered by address. A
    /// sequence that starts inside an earlier one (overlap: malformed, or code folded by the linker) is dropped, so
    /// the binary search stays valid; where one sequence ends exactly where the next begins, the end row goes.
    mutating func finish() -> (rows: [Row], paths: [String]) {
        let order = sequences.sorted { left, right in
            left.lowPC != right.lowPC ? left.lowPC < right.lowPC : left.highPC > right.highPC
        }
        var rows: [Row] = []
        rows.reserveCapacity(sequenceRows.count)
        var coveredUntil: UInt64 = 0
        for sequence in order where sequence.lowPC >= coveredUntil {
            if let last = rows.last, last.file == LineTable.endOfSequence, last.address == sequence.lowPC {
                rows.removeLast()
            }
            rows.append(contentsOf: sequenceRows[sequence.start..<(sequence.start + sequence.count)])
            coveredUntil = sequence.highPC
        }
        sequenceRows = []
        sequences = []
        return (rows, paths)
    }
}
