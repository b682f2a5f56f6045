import Foundation
import Synchronization

/// A value computed on another queue; `get()` waits for it.
public final class Pending<T>: @unchecked Sendable {
    // The result is written once on the queue before `leave()` and read only after `wait()`: the group
    // orders the two, so no lock is needed.
    private let group = DispatchGroup()
    private var result: Result<T, Error>?

    public init(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) {
        group.enter()
        queue.async { [self] in
            result = Result { try body() }
            group.leave()
        }
    }

    public func get() throws -> T {
        group.wait()
        guard let r = result else { throw RunnerError.message("internal: a background task produced nothing") }
        return try r.get()
    }
}

/// A bounded first-in first-out hand-over between two threads; `close()` ends it.
final class Channel<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T] = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Waits for room; returns false (dropping `item`) once the channel is closed.
    @discardableResult
    func put(_ item: T) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item; nil once the channel is closed and empty.
    func take() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A flag several threads read and one sets.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
