extension Array {
    /// The first `count` elements in the order of `areInIncreasingOrder`, sorted.
    ///
    /// Cost: O(n log count) time and O(count) space, through a bounded max-heap;
    /// for `count` much smaller than the array, far less than sorting it all.
    func smallest(_ count: Int, by areInIncreasingOrder: (Element, Element) -> Bool) -> [Element] {
        guard count > 0 else { return [] }
        var heap: [Element] = []
        heap.reserveCapacity(Swift.min(count, self.count))
        for element in self {
            if heap.count < count {
                heap.append(element)
                heap.siftUp(from: heap.count - 1, by: areInIncreasingOrder)
            } else if areInIncreasingOrder(element, heap[0]) {
                heap[0] = element
                heap.siftDown(from: 0, by: areInIncreasingOrder)
            }
        }
        heap.sort(by: areInIncreasingOrder)
        return heap
    }

    /// Restores the max-heap order above `index`.
    private mutating func siftUp(from index: Int, by areInIncreasingOrder: (Element, Element) -> Bool) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard areInIncreasingOrder(self[parent], self[child]) else { return }
            swapAt(parent, child)
            child = parent
        }
    }

    /// Restores the max-heap order below `index`.
    private mutating func siftDown(from index: Int, by areInIncreasingOrder: (Element, Element) -> Bool) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            var largest = left
            let right = left + 1
            if right < count, areInIncreasingOrder(self[left], self[right]) { largest = right }
            guard areInIncreasingOrder(self[parent], self[largest]) else { return }
            swapAt(parent, largest)
            parent = largest
        }
    }
}
