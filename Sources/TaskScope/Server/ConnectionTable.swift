import NIOCore

/// The connections being served, so that when every place is taken a new client can have
/// the place of one that is doing nothing with it.
///
/// Without it, 64 connections that never ask anything (or stopped reading, or went quiet)
/// would lock every other client out until their timeouts; with it, a person who attaches
/// while the agent is flooded gets in, and the flood's connections make room for one another.
///
/// Confined to the agent's event loop (every connection runs there). Costs, when a client
/// arrives and every place is taken, a pass over at most `maxClients` connections with one
/// `getsockopt` each.
final class ConnectionTable {
    /// Why a connection may give up its place; the first kind goes first, and within a kind
    /// the one longest in it.
    enum Standing: Comparable {
        /// It has not read its hello and has sent nothing: a client would have done one or the
        /// other by now, unless it came a moment ago, and the oldest goes first.
        case silent
        /// It read its hello but has asked nothing for ``Thresholds/unproven``.
        case unproven
        /// Output has waited for it, unread, for ``Thresholds/stuck``.
        case stuck
        /// It has read everything, has nothing queued, running, streaming or subscribed, and has
        /// asked nothing for ``Thresholds/quiet``.
        case quiet

        /// Why its connection was closed, in the line telling it so.
        var reason: String {
            switch self {
            case .silent, .unproven: "it had asked nothing"
            case .stuck: "it had left its output unread"
            case .quiet: "it had been idle"
            }
        }
    }

    /// How long a connection keeps its place, in each standing, when another client wants it.
    struct Thresholds: Sendable {
        /// A client that read its hello has this long to send its first request: long enough
        /// for one whose request is on its way while the agent accepts a flood.
        var unproven = TimeAmount.milliseconds(500)
        /// A client's output may wait unread this long.
        var stuck = TimeAmount.seconds(1)
        /// A client that has asked before, and has read all it was sent, may be idle this long.
        var quiet = TimeAmount.seconds(10)
    }

    let thresholds: Thresholds
    /// In the order they came, oldest first.
    private var handlers: [ConnectionHandler] = []

    init(thresholds: Thresholds = Thresholds()) { self.thresholds = thresholds }

    func add(_ handler: ConnectionHandler) { handlers.append(handler) }

    func remove(_ handler: ConnectionHandler) { handlers.removeAll { $0 === handler } }

    var count: Int { handlers.count }

    /// The connection to give up its place now, with its standing: the first by standing, and
    /// the longest in it; `nil` when every connection is being served.
    ///
    /// A flood of silent connections is the common case when full, so the oldest silent one is
    /// looked for first among those that have asked nothing, stopping at the first (they are in
    /// the order they came); only when there is none are all the others' standings compared.
    func evictionCandidate(now: NIODeadline = .now()) -> (ConnectionHandler, Standing)? {
        for handler in handlers where !handler.hasAsked {
            if let (standing, _) = handler.standing(now: now, thresholds: thresholds), standing == .silent {
                return (handler, standing)
            }
        }
        var best: (standing: Standing, since: NIODeadline, handler: ConnectionHandler)?
        for handler in handlers {
            guard let (standing, since) = handler.standing(now: now, thresholds: thresholds) else { continue }
            if let current = best, (current.standing, current.since) <= (standing, since) { continue }
            best = (standing, since, handler)
        }
        return best.map { ($0.handler, $0.standing) }
    }
}
