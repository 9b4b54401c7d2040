#if canImport(XCTest)
import XCTest

/// XCTest's leak check: fails the test at `file`:`line` when tracked tasks are still
/// running (all but those `options` ignores; pass ``TaskLeaks/aliveNow()`` taken in
/// `setUp` as `ignoringTasks` to keep only the test's own), or when a leak rule fires
/// about them. Waits `options.settle` for tasks that are finishing first.
// swift-format-ignore: AlwaysUseLowerCamelCase
// (named as XCTest names its assertions)
public func XCTAssertNoTaskLeaks(
    _ options: TaskLeakOptions = TaskLeakOptions(), file: StaticString = #filePath, line: UInt = #line
) async {
    if let report = await TaskLeaks.find(options, scope: nil) {
        XCTFail(report.description, file: file, line: line)
    }
}
#endif
