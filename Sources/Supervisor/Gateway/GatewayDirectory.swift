import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The gateway's table of routes, replaced by the agent after every reconcile, and the rule that maps
/// a request's `model` to one entry.
///
/// Names a `model` may use, in this order: the status name (`name`, or `namespace/name` outside
/// `default`), `namespace/name` for any entry (`default/name` too), the bare `metadata.name` when no other
/// namespace has an entry of that name, and the entry's aliases. A name two entries share by alias or
/// bare name is ambiguous: the request must use `namespace/name`.
public final class GatewayDirectory: Sendable {
    /// The outcome of resolving a `model`.
    public enum Resolution: Sendable, Equatable {
        case found(GatewayRoute)
        /// No entry has that name; the names that do exist, sorted.
        case unknown(names: [String])
        /// Several entries answer to it; their qualified names.
        case ambiguous(candidates: [String])
    }

    private struct Table: Sendable {
        var routes: [GatewayRoute] = []
        var byName: [String: [Int]] = [:]
    }

    private let table = Mutex(Table())
    private let observers = Mutex<[@Sendable () -> Void]>([])

    /// Creates an empty directory.
    public init() {}

    /// Replaces every route (in config order).
    public func set(_ routes: [GatewayRoute]) {
        var fresh = Table()
        fresh.routes = routes
        func add(_ key: String, _ index: Int) {
            if fresh.byName[key]?.contains(index) == true { return }
            fresh.byName[key, default: []].append(index)
        }
        for (index, route) in routes.enumerated() where route.serves {
            add(route.name, index)
            add("\(route.namespace)/\(route.shortName)", index)
        }
        for (index, route) in routes.enumerated() where route.serves {
            // A bare name or an alias never shadows an exact status name.
            if fresh.byName[route.shortName].map({ $0.allSatisfy { routes[$0].name != route.shortName } }) ?? true {
                add(route.shortName, index)
            }
            for alias in route.aliases where fresh.byName[alias].map({ $0.allSatisfy { routes[$0].name != alias } }) ?? true {
                add(alias, index)
            }
        }
        table.withLock { $0 = fresh }
        for observer in observers.withLock({ $0 }) { observer() }
    }

    /// Calls `observer` after every `set` (the gateway's idle watch wakes on it).
    public func onChange(_ observer: @escaping @Sendable () -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Every route, in config order.
    public var routes: [GatewayRoute] { table.withLock { $0.routes } }

    /// The route of one entry, by its status name.
    public func route(named name: String) -> GatewayRoute? {
        table.withLock { t in t.routes.first { $0.name == name } }
    }

    /// Maps a request's `model` to an entry.
    public func resolve(_ model: String) -> Resolution {
        table.withLock { t in
            guard let indexes = t.byName[model], !indexes.isEmpty else {
                return .unknown(names: Set(t.routes.filter(\.serves).flatMap { [$0.name] + $0.aliases }).sorted())
            }
            if indexes.count == 1 { return .found(t.routes[indexes[0]]) }
            if let exact = indexes.first(where: { t.routes[$0].name == model }) { return .found(t.routes[exact]) }
            return .ambiguous(candidates: indexes.map { "\(t.routes[$0].namespace)/\(t.routes[$0].shortName)" }.sorted())
        }
    }
}
