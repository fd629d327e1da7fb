import ConfigModel
import Executors
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the last build resolved for each entry, and from what (`DesiredStateBuilder`).
///
/// An entry is resolved again only when one of its inputs changed: its InferenceService (positions
/// included), its Model, its draft Model, the file it is in, the node (runtimes, binaries, versions,
/// host, model store, environment; the executor registry is fixed for a builder's life), or the answer
/// of a file check it made. Each check is made again, every build, through the build's own `FileCheck`
/// (so the re-check still sees a model file that appeared, changed or went). An edit of one entry in a
/// 1,000-entry file then resolves one entry.
final class EntryMemo: Sendable {
    /// Everything of the config an entry's resolution reads.
    struct Inputs: Equatable, Sendable {
        var service: InferenceService
        var model: Model?
        var draft: Model?
        var file: String
    }

    /// The node facts a resolution reads (compared once per build).
    struct NodeKey: Equatable, Sendable {
        var defaultRuntime: String
        var binaries: [String: String]
        var host: String
        var versions: [String: RuntimeVersion]
        var modelStore: String
        var environment: [String: String]

        init(_ node: NodeRuntimes) {
            defaultRuntime = node.defaultRuntime
            binaries = node.binaries
            host = node.host
            versions = node.versions
            modelStore = node.modelStore.directory
            environment = node.environment
        }
    }

    /// A file check an entry made, and its answer.
    struct Check: Equatable, Sendable {
        var path: String
        var exists: Bool
        var isDirectory: Bool
    }

    private struct Remembered: Sendable {
        var inputs: Inputs
        var checks: [Check]
        var result: DesiredService
    }

    private struct State: Sendable {
        var node: NodeKey?
        var entries: [String: Remembered] = [:]
        var seen: Set<String> = []
        var resolved = 0
    }

    private let state = Mutex(State())

    /// Starts a build on `node`: a node that changed forgets every entry.
    func begin(_ node: NodeKey) {
        state.withLock { s in
            if s.node != node { s.entries = [:] }
            s.node = node
            s.seen = []
            s.resolved = 0
        }
    }

    /// Ends a build: entries it did not ask for are forgotten.
    func end() {
        state.withLock { s in
            guard s.entries.count != s.seen.count else { return }  // every remembered entry was asked for
            s.entries = s.entries.filter { s.seen.contains($0.key) }
        }
    }

    /// Entries the last build resolved (the others came from the memo).
    var lastResolved: Int { state.withLock { $0.resolved } }

    /// The entry `name` as last resolved, when its inputs are the same and each of its file checks,
    /// made again through `fileExists`, answers the same; else `resolve` runs (its checks recorded) and
    /// its result is remembered.
    func entry(
        _ name: String, inputs: Inputs, fileExists: @escaping DesiredStateBuilder.FileCheck,
        resolve: (DesiredStateBuilder.FileCheck) -> DesiredService
    ) -> DesiredService {
        let known = state.withLock { s -> Remembered? in
            s.seen.insert(name)
            return s.entries[name]
        }
        if let known, known.inputs == inputs,
            known.checks.allSatisfy({ check in
                let answer = fileExists(check.path)
                return answer.exists == check.exists && answer.isDirectory == check.isDirectory
            })
        {
            return known.result
        }
        let log = Mutex<[Check]>([])
        let result = resolve { path in
            let answer = fileExists(path)
            log.withLock { $0.append(Check(path: path, exists: answer.exists, isDirectory: answer.isDirectory)) }
            return answer
        }
        let checks = log.withLock { $0 }
        state.withLock { s in
            s.entries[name] = Remembered(inputs: inputs, checks: checks, result: result)
            s.resolved += 1
        }
        return result
    }
}
