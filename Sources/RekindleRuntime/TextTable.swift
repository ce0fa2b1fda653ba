/// Rows of cells as aligned text for a terminal: the first column left-aligned, the others
/// right-aligned, columns two spaces apart; `rule` is a line of dashes under each column.
struct TextTable {
    var lines: [String]
    var rule: String

    init(_ rows: [[String]]) {
        var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        lines = rows.map { r in
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  ")
        }
        rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    }
}
