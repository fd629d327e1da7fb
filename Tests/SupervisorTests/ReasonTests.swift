import Foundation
import Testing

@testable import Supervisor

/// The status file's reasons are a type; these are its edges (JSON) and the decisions made on it.
struct ReasonTests {
    @Test func everyReasonIsWrittenAsItsCaseNameAndReadBack() throws {
        for reason in Reason.allCases {
            let json = try JSONEncoder().encode([reason])
            #expect(String(decoding: json, as: UTF8.self) == "[\"\(reason)\"]")
            #expect(try JSONDecoder().decode([Reason].self, from: json) == [reason])
        }
    }

    @Test func aReasonFromANewerAgentIsReadAsUnknownNotAnError() throws {
        let decoded = try JSONDecoder().decode([Reason].self, from: Data(#"["SomethingNew", "Killed"]"#.utf8))
        #expect(decoded == [.Unknown, .Killed])
    }

    @Test func onlyAnExitOfTheProcessItselfCanCompleteAnEntry() {
        let own = Reason.allCases.filter(SupervisionLoop.endedOnItsOwn)
        #expect(own == [.ExitedBeforeReady, .Exited])
    }

    @Test func terminationsMapToKubernetesTerminatedReasons() {
        #expect(Termination.exited(0).reason == .Completed)
        #expect(Termination.exited(2).reason == .Error)
        #expect(Termination.signaled(9).reason == .Killed)
        #expect(Termination.signaled(15).reason == .Signaled)
        #expect(Termination.spawnFailed("x").reason == .SpawnFailed)
    }
}
