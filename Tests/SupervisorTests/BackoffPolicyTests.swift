import Supervisor
import Testing

@Suite struct BackoffPolicyTests {
    @Test func kubeletScheduleDoublesFromTenSecondsToFiveMinutes() {
        let policy = BackoffPolicy.kubelet
        let schedule = (1...8).map { policy.delay(forAttempt: $0) }
        #expect(schedule == [.seconds(10), .seconds(20), .seconds(40), .seconds(80), .seconds(160), .seconds(300), .seconds(300), .seconds(300)])
        #expect(policy.resetAfter == .seconds(600))
    }

    @Test func capBelowInitialIsRaisedToInitial() {
        let policy = BackoffPolicy(initial: .seconds(5), max: .seconds(1), resetAfter: .seconds(60))
        #expect(policy.delay(forAttempt: 1) == .seconds(5))
        #expect(policy.delay(forAttempt: 4) == .seconds(5))
    }

    @Test func largeAttemptCountsDoNotOverflow() {
        let policy = BackoffPolicy(initial: .milliseconds(200), max: .seconds(2), resetAfter: .seconds(60))
        #expect(policy.delay(forAttempt: 10_000) == .seconds(2))
    }
}
