/// Plain-text tables for reports: columns padded to their widest cell, the last
/// column unpadded (no trailing spaces), some columns right-aligned.
enum TextTable {
    /// The header line and one line per row. Cost: one pass to measure, one to pad.
    static func render(
        header: [String], rows: [[String]], rightAligned: Set<Int> = [], separator: String = "  "
    ) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { column in
                let cell = row[column]
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                if rightAligned.contains(column) { return padding + cell }
                return column == row.count - 1 ? cell : cell + padding
            }.joined(separator: separator)
        }
    }
}
