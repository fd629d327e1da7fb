import Synchronization
import Testing

@testable import Supervisor

/// Turn-taking in an exclusive group (`ExclusiveGroups`).
@Suite struct ExclusiveGroupsTests {
    final class Stops: Sendable {
        let list = Mutex<[String]>([])
        func add(_ s: String) { list.withLock { $0.append(s) } }
        var all: [String] { list.withLock { $0 } }
    }

    @Test func theTurnPassesOnlyWhenTheHoldersRequestsHaveEndedAndAfterItsStop() async {
        let stops = Stops()
        let groups = ExclusiveGroups { previous, next in stops.add("\(previous)->\(next)") }
        #expect(await groups.acquire("g", member: "a", wait: .seconds(60)))
        #expect(await groups.acquire("g", member: "a", wait: .seconds(60)), "requests for the holder go ahead together")
        let waiting = Task { await groups.acquire("g", member: "b", wait: .seconds(60)) }
        while await groups.queued(in: "g") < 1 { await Task.yield() }
        // b waits while a has requests in flight; a new request for a now queues behind b.
        let late = Task { await groups.acquire("g", member: "a", wait: .seconds(60)) }
        while await groups.queued(in: "g") < 2 { await Task.yield() }
        await groups.release("g")
        #expect(await groups.holder(of: "g") == "a")
        await groups.release("g")
        #expect(await waiting.value)
        #expect(stops.all == ["a->b"], "a is stopped before b goes ahead")
        #expect(await groups.holder(of: "g") == "b")
        await groups.release("g")
        #expect(await late.value)
        #expect(stops.all == ["a->b", "b->a"])
        await groups.release("g")
    }

    @Test func aWaitThatRunsOutHoldsNothing() async {
        let groups = ExclusiveGroups { _, _ in }
        #expect(await groups.acquire("g", member: "a", wait: .seconds(60)))
        #expect(await groups.acquire("g", member: "b", wait: .milliseconds(50)) == false)
        await groups.release("g")
        #expect(await groups.acquire("g", member: "b", wait: .seconds(60)), "an idle holder passes the turn at once")
        #expect(await groups.holder(of: "g") == "b")
    }
}
