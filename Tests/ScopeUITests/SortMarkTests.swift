import ScopeProtocol
import Testing

@testable import ScopeUI

/// The column a screen is sorted by shows its whole title and the arrow, at any width.
@Suite struct SortMarkTests {
    @Test(arguments: [(80, 24), (200, 50)])
    func theSortedColumnsTitleIsNeverCut(width: Int, height: Int) {
        for state in [Fixtures.state(width: width, height: height), LongFixtures.state(width: width, height: height)] {
            for screen in [Screen.tasks, .groups, .resources] {
                var state = state
                state.apply(.key(.character(Character("\(screen.rawValue)"))))
                var seen: Set<String> = []
                // `s` cycles the screen's columns; every one, both ways, gets a whole title.
                for _ in 0..<12 {
                    for _ in 0..<2 {
                        guard let sort = state.sortIndicator(for: screen) else {
                            Issue.record("\(screen) has no sort")
                            return
                        }
                        let header = Renderer.render(state).line(2)
                        let mark = sort.column + String(sort.descending ? state.glyphs.down : state.glyphs.up)
                        // Resources' age has no column; every other key marks its title whole.
                        if screen != .resources || sort.column != "AGE" {
                            #expect(
                                header.contains(mark),
                                "\(screen) at \(width)x\(height) sorted by \(sort.name): header \(header)")
                        }
                        seen.insert(sort.name)
                        state.apply(.key(.character("S")))
                    }
                    state.apply(.key(.character("s")))
                }
                #expect(seen.count >= 3, "\(screen) sorts by \(seen)")
            }
        }
    }
}
