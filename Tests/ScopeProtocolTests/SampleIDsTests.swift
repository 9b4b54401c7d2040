import Testing

@testable import ScopeProtocol

/// A group keeps the lowest few of its tasks' ids, sorted, whether it groups by site or by stack.
@Suite struct SampleIDsTests {
    static let ids: [UInt64] = [9, 3, 7, 1, 12, 5, 2, 8, 4]

    @Test func aSiteGroupAndAStackGroupKeepTheSameLowestIDs() {
        var site = SiteGroup(
            key: SiteGroup.Key(reason: "db.query", waitSite: nil, spawnSite: SourceSite(file: "A", line: 1)))
        var stack = StackGroup(stack: 1, reason: "db.query")
        for (index, id) in Self.ids.enumerated() {
            site.add(id: id, inState: Double(index))
            stack.add(id: id, waited: Double(index))
            #expect(site.sampleIDs == stack.sampleIDs)
            #expect(stack.sampleIDs == Array(Self.ids.prefix(index + 1).sorted().prefix(SiteGroup.sampleLimit)))
        }
        #expect(stack.sampleIDs == [1, 2, 3, 4, 5])
        #expect(stack.count == Self.ids.count && site.count == Self.ids.count)
        #expect(stack.longest == Double(Self.ids.count - 1) && site.longest == stack.longest)
    }

    @Test func anIDAlreadyHigherThanAFullSampleIsLeftOut() {
        var sample: [UInt64] = [1, 2, 3, 4, 5]
        SiteGroup.sample(6, into: &sample)
        #expect(sample == [1, 2, 3, 4, 5])
        SiteGroup.sample(0, into: &sample)
        #expect(sample == [0, 1, 2, 3, 4])
    }
}
