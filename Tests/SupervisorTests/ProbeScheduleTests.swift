import Testing

@testable import Supervisor

/// The probe loop's schedule: earliest first, ties in the order they were added, and only what is due taken.
@Suite struct ProbeScheduleTests {
    @Test func takesWhatIsDueEarliestFirstAndKeepsTheRest() {
        let t0 = ContinuousClock.now
        var schedule = ProbeSchedule()
        #expect(schedule.earliest == nil)
        for (id, offset) in [(1, 30), (2, 10), (3, 20), (4, 10), (5, 50)] as [(UInt64, Int)] {
            schedule.add(id, at: t0 + .milliseconds(offset))
        }
        #expect(schedule.earliest == t0 + .milliseconds(10))
        #expect(schedule.takeDue(t0 + .milliseconds(5)).isEmpty)
        #expect(schedule.takeDue(t0 + .milliseconds(20)).map(\.id) == [2, 4, 3])
        #expect(schedule.earliest == t0 + .milliseconds(30))
        schedule.add(6, at: t0 + .milliseconds(40))
        #expect(schedule.takeDue(t0 + .seconds(1)).map(\.id) == [1, 6, 5])
        #expect(schedule.earliest == nil)
    }
}
