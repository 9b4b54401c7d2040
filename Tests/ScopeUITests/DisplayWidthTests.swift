import ScopeProtocol
import Testing

@testable import ScopeUI

/// Wide characters (CJK, emoji) take two cells, so a table stays aligned whatever its names.
@Suite struct DisplayWidthTests {
    @Test func charactersHaveTheirTerminalWidths() {
        #expect(DisplayWidth.of(Character("a")) == 1)
        #expect(DisplayWidth.of(Character("é")) == 1)
        #expect(DisplayWidth.of(Character("─")) == 1)
        #expect(DisplayWidth.of(Character("▁")) == 1)
        #expect(DisplayWidth.of(Character("注")) == 2)
        #expect(DisplayWidth.of(Character("문")) == 2)
        #expect(DisplayWidth.of(Character("ｱ")) == 1)  // halfwidth katakana
        #expect(DisplayWidth.of(Character("Ａ")) == 2)  // fullwidth Latin
        #expect(DisplayWidth.of(Character("🚀")) == 2)
        #expect(DisplayWidth.of(Character("❤️")) == 2)  // text heart with the emoji selector
        #expect(DisplayWidth.of("注文-🚀") == 7)
    }

    @Test func putCountsCellsAndReadsBackOnce() {
        var buffer = CellBuffer(width: 10, height: 1)
        let written = buffer.put("注文x", x: 0, y: 0)
        #expect(written == 5)
        #expect(buffer[0, 0].character == "注")
        #expect(buffer[1, 0].isContinuation)
        #expect(buffer[2, 0].character == "文")
        #expect(buffer[3, 0].isContinuation)
        #expect(buffer[4, 0].character == "x")
        #expect(buffer.line(0) == "注文x")
    }

    @Test func aWideCharacterThatWouldStraddleTheLimitIsLeftOut() {
        var buffer = CellBuffer(width: 10, height: 1)
        #expect(buffer.put("ab注", x: 0, y: 0, maxWidth: 3) == 2)
        #expect(buffer.line(0) == "ab")
        #expect(buffer.put("🚀", x: 9, y: 0) == 0)  // one cell left at the edge
        #expect(!buffer[9, 0].isContinuation)
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        var buffer = CellBuffer(width: 6, height: 1)
        buffer.put("注文", x: 0, y: 0)
        buffer.put("x", x: 1, y: 0)  // over 注's right half
        #expect(buffer.line(0) == " x文")
        buffer.put("y", x: 2, y: 0)  // over 文's left half
        #expect(buffer.line(0) == " xy")
        #expect(!buffer.cells.contains { $0.isContinuation })
    }

    @Test func controlCharactersCannotMoveTheCursor() {
        var buffer = CellBuffer(width: 10, height: 1)
        buffer.put("a\u{1B}[2Jb\n", x: 0, y: 0)
        #expect(buffer.line(0) == "a?[2Jb?")
    }

    @Test func fitPadsAndCutsByCells() {
        #expect(Fit.pad("注文", 6, glyphs: .unicode) == "注文  ")
        #expect(Fit.pad("注文注文", 5, glyphs: .unicode) == "注文…")
        #expect(Fit.pad("注文注文", 6, glyphs: .unicode) == "注文… ")  // a wide character never half-drawn
        #expect(Fit.pad("🚀", 4, glyphs: .unicode, right: true) == "  🚀")
        #expect(Fit.tail("dir/注文.swift", 11, glyphs: .unicode) == "…注文.swift")
        #expect(Fit.tail("dir/注文.swift", 10, glyphs: .unicode) == "…文.swift ")
    }

    /// A task named in CJK or with an emoji keeps the table's columns where an ASCII row has them.
    @Test(arguments: [(80, 24), (200, 50)])
    func wideNamesKeepTheTasksTableAligned(width: Int, height: Int) throws {
        var state = Fixtures.state(width: width, height: height)
        state.apply(.key(.character("2")))
        var page = Fixtures.page
        page.tasks[0].name = "注文を読み込む"
        page.tasks[1].name = "charge 💳 card 🚀"
        state.apply(.tasks(page, for: state.taskQuery))
        let frame = Renderer.render(state)
        let wide = try #require(frame.row(containing: "注文"))
        let emoji = try #require(frame.row(containing: "charge"))
        let plain = try #require(frame.row(containing: "old-job"))
        // The STATE column starts at the same cell in every row.
        func stateColumn(_ y: Int, _ word: String) -> Int? {
            (0..<frame.width).first { x in
                (0..<word.count).allSatisfy { frame[x + $0, y].character == Array(word)[$0] }
            }
        }
        let column = try #require(stateColumn(plain, "completed"))
        #expect(stateColumn(wide, "waiting") == column)
        #expect(stateColumn(emoji, "waiting") == column)
        #expect(frame.line(wide).contains("db.query"))
    }
}
