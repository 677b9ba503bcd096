import EnrollAPIModel
import Foundation
import Store
import UnixHTTP

extension Daemon {
    /// What an operator sees of a message: its delivery, not its content.
    static func view(_ message: OutboxMessageRecord) -> OutboxMessageView {
        let iso = ISO8601DateFormatter()
        return OutboxMessageView(
            id: message.id.uuidString, accountId: message.accountID?.uuidString, kind: message.kind,
            transport: message.transport, state: message.state.rawValue, attempts: message.attempts,
            nextAttemptAt: iso.string(from: message.nextAttemptAt), lastError: message.lastError,
            createdAt: iso.string(from: message.createdAt), sentAt: message.sentAt.map { iso.string(from: $0) })
    }

    private func outboxStore() throws(Problem) -> any Store {
        guard let store = enrollment?.store else {
            throw Problem(.enrollmentUnavailable, detail: enrollmentUnavailableReason)
        }
        return store
    }

    /// `GET /v1/outbox` (`enrollctl outbox list`) and `POST /v1/outbox/{id}/retry` (`enrollctl outbox retry`).
    func addOutboxRoutes(to router: inout Router) {
        router.add(
            Route(
                "GET", "/v1/outbox",
                .respond { [unowned self] context throws(Problem) in
                    var state: OutboxState?
                    if let text = context.request.queryValue("state") {
                        guard let value = OutboxState(rawValue: text) else {
                            throw Problem(.invalidOutboxState, detail: "state is queued, sending, sent or failed")
                        }
                        state = value
                    }
                    var limit = 100
                    if let text = context.request.queryValue("limit") {
                        guard let value = Int(text), (1...1000).contains(value) else {
                            throw Problem(.invalidLimit, detail: "limit is 1 to 1000")
                        }
                        limit = value
                    }
                    let store = try outboxStore()
                    do {
                        let messages = try store.transaction { tx in try tx.outboxMessages(state: state, limit: limit) }
                        return .json(OutboxPage(messages: messages.map(Self.view)))
                    } catch {
                        throw Problem(.storageError, detail: "the outbox is not readable: \(error)")
                    }
                }))
        router.add(
            Route(
                "POST", "/v1/outbox/{id}/retry",
                .respond { [unowned self] context throws(Problem) in
                    let id = try parseUUID(context.parameters["id"], field: "message id")
                    let store = try outboxStore()
                    let at = environment.now()
                    enum Outcome {
                        case retried(OutboxMessageRecord)
                        case missing
                        case notFailed(OutboxState)
                    }
                    let outcome: Outcome
                    do {
                        outcome = try store.transaction { tx -> Outcome in
                            guard var message = try tx.outboxMessage(id: id) else { return .missing }
                            guard message.state == .failed else { return .notFailed(message.state) }
                            // A fresh series of attempts; the last error stays until the next attempt.
                            message.state = .queued
                            message.attempts = 0
                            message.nextAttemptAt = at
                            message.updatedAt = at
                            try tx.updateOutboxMessage(message)
                            return .retried(message)
                        }
                    } catch {
                        throw Problem(.storageError, detail: "the outbox is not writable: \(error)")
                    }
                    switch outcome {
                    case .missing:
                        throw Problem(.outboxMessageNotFound, detail: "no outbox message \(id.uuidString)")
                    case let .notFailed(state):
                        throw Problem(.outboxMessageNotFailed, detail: "the message is \(state.rawValue)")
                    case let .retried(message):
                        let actor = try context.actor()
                        Log.notice("outbox: message \(id.uuidString) queued again by \(actor.role) uid \(actor.uid)")
                        return .json(Self.view(message))
                    }
                }))
    }
}
