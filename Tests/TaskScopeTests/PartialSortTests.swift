import Testing

@testable import TaskScope

@Suite struct PartialSortTests {
    @Test(arguments: [0, 1, 2, 7, 100, 999, 1000, 1500])
    func theSmallestAreTheSortedPrefix(count: Int) {
        var generator = SystemRandomNumberGenerator()
        // Few distinct values, so ties are common; pairs, so a stable order would show.
        let values = (0..<1000).map { index in (key: Int.random(in: 0..<50, using: &generator), index: index) }
        let inOrder: ((key: Int, index: Int), (key: Int, index: Int)) -> Bool = {
            $0.key != $1.key ? $0.key < $1.key : $0.index < $1.index
        }
        let expected = values.sorted(by: inOrder).prefix(count)
        let selected = values.smallest(count, by: inOrder)
        #expect(selected.map(\.index) == expected.map(\.index))
    }

    @Test func descendingInputIsStillSelectedCorrectly() {
        let values = Array((0..<10_000).reversed())
        #expect(values.smallest(5, by: <) == [0, 1, 2, 3, 4])
        #expect(values.smallest(3, by: >) == [9999, 9998, 9997])
    }
}
