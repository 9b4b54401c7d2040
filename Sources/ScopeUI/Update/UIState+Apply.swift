import ScopeProtocol

extension UIState {
    /// Applies one action: the whole of the UI's behaviour, as a state transition.
    public mutating func apply(_ action: Action) {
        switch action {
        case .key(let key): press(key)
        case .resize(let width, let height):
            self.width = width
            self.height = height
            let visible = tableRows
            for screen in Screen.allCases { positions[screen]?.scroll(visible: visible) }
        case .connected(let hello):
            self.hello = hello
            if case .offline = connection {} else { connection = .live }
        case .summary(let summary):
            data.summary = summary
            if case .lost = connection { connection = .live }
        case .history(let samples): data.history = samples
        case .warnings(let warnings): data.warnings = warnings
        case .resources(let resources): data.resources = resources
        case .tasks(let page, let query):
            data.page = page
            data.pageQuery = query
            clampSelection(.tasks, count: page.total)
        case .groups(let groups):
            data.groups = groups
            clampSelection(.groups, count: groups.count)
        case .detail(let detail): data.detail = detail
        case .disconnected(let reason):
            if case .offline = connection { status = reason } else { connection = .lost(reason) }
        case .quit: quitRequested = true
        case .exported(let result):
            exportRequested = false
            switch result {
            case .success(let path): status = "exported to \(path)"
            case .failure(let failure): status = "export failed: \(failure.message)"
            }
        }
    }

    private mutating func clampSelection(_ screen: Screen, count: Int) {
        var position = self.position(screen)
        if position.selected >= count { position.selected = max(0, count - 1) }
        position.scroll(visible: tableRows)
        positions[screen] = position
    }

    /// How many rows the current screen's table has.
    var rowCount: Int {
        switch screen {
        case .overview: shown.warnings.count
        case .tasks: shown.page?.total ?? 0
        case .groups: shown.groups.count
        case .resources: shown.resources.count
        case .warnings: shown.warnings.count
        }
    }

    // MARK: Keys

    private mutating func press(_ key: Key) {
        if case .search(let text)? = overlay {
            editSearch(text, key)
            return
        }
        guard let command = KeyBinding.command(for: key) else { return }
        if overlay != nil, handleOverlay(command) { return }
        switch command {
        case .screen(let target):
            screen = target
            overlay = nil
        case .nextScreen:
            screen = Screen(rawValue: screen.rawValue % Screen.allCases.count + 1) ?? .overview
            overlay = nil
        case .up: move(-1)
        case .down: move(1)
        case .pageUp: move(-tableRows)
        case .pageDown: move(tableRows)
        case .top: move(-Int.max / 2)
        case .bottom: move(Int.max / 2)
        case .open: open()
        case .back: back()
        case .search: overlay = .search(textFilter ?? "")
        case .pickWait: overlay = .waitPicker(selected: 0)
        case .nextSort:
            let keys = TaskQuery.SortKey.allCases
            sort = keys[((keys.firstIndex(of: sort) ?? 0) + 1) % keys.count]
            descending = nil
            screen = .tasks
        case .reverseSort:
            descending = !(descending ?? sort.descendingByDefault)
            screen = .tasks
        case .pause:
            frozen = isPaused ? nil : data
            status = isPaused ? "paused: the display is frozen, data keeps coming (space resumes)" : nil
        case .export:
            exportRequested = true
            status = "exporting…"
        case .help: overlay = overlay == .help ? nil : .help
        case .quit: quitRequested = true
        }
    }

    private mutating func move(_ delta: Int) {
        var position = self.position(screen)
        position.move(by: delta, count: rowCount, visible: tableRows)
        positions[screen] = position
    }

    /// Enter on the current screen.
    private mutating func open() {
        let selected = position(screen).selected
        switch screen {
        case .overview:
            if !openWarning(at: selected) { screen = .tasks }
        case .tasks:
            guard let page = shown.page, let row = page.tasks[safe: selected - page.offset] else { return }
            overlay = .detail(taskID: row.id, child: 0)
        case .groups:
            guard let group = shown.groups[safe: selected] else { return }
            scope = TaskScopeFilter(
                label:
                    "group \(group.key.reason ?? "(active)") at \(group.key.waitSite?.description ?? group.key.spawnSite.description)",
                waitSite: group.key.waitSite, spawnSite: group.key.spawnSite)
            waitFilter = group.key.reason
            resetTasksPosition()
            screen = .tasks
        case .resources:
            guard let resource = shown.resources[safe: selected] else { return }
            scope = TaskScopeFilter(label: "\(resource.kind.rawValue) \"\(resource.name)\"", resource: resource.id)
            resetTasksPosition()
            screen = .tasks
        case .warnings:
            guard let warning = shown.orderedWarnings[safe: selected] else { return }
            listTasks(of: warning)
        }
    }

    /// Esc: close what is open, else clear the narrowest filter.
    private mutating func back() {
        if scope != nil {
            scope = nil
            if screen == .tasks { waitFilter = nil }
        } else if textFilter != nil {
            textFilter = nil
        } else if waitFilter != nil {
            waitFilter = nil
        } else {
            status = nil
        }
        resetTasksPosition()
    }

    private mutating func resetTasksPosition() { positions[.tasks] = ListPosition() }

    /// Keys while an overlay is open; returns whether the overlay took the key.
    private mutating func handleOverlay(_ command: Command) -> Bool {
        switch overlay {
        case .help?:
            if command == .help || command == .back { overlay = nil; return true }
            if command == .quit { return false }
            overlay = nil
            return false
        case .detail(let taskID, let child)?:
            let children = shown.detail?.task.id == taskID ? shown.detail?.children ?? [] : []
            switch command {
            case .back: overlay = nil
            case .up: overlay = .detail(taskID: taskID, child: max(0, child - 1))
            case .down: overlay = .detail(taskID: taskID, child: min(max(0, children.count - 1), child + 1))
            case .open:
                if let next = children[safe: child] { overlay = .detail(taskID: next.id, child: 0) }
            case .quit: return false
            default: return true
            }
            return true
        case .waitPicker(let selected)?:
            let reasons = waitReasons
            switch command {
            case .back: overlay = nil
            case .up: overlay = .waitPicker(selected: max(0, selected - 1))
            case .down: overlay = .waitPicker(selected: min(reasons.count, selected + 1))
            case .open:
                waitFilter = selected == 0 ? nil : reasons[safe: selected - 1]?.reason
                overlay = nil
                resetTasksPosition()
                if screen == .overview { screen = .tasks }
            case .quit: return false
            default: return true
            }
            return true
        case .search?, nil:
            return false
        }
    }

    private mutating func editSearch(_ text: String, _ key: Key) {
        switch key {
        case .enter:
            textFilter = text.isEmpty ? nil : text
            overlay = nil
            resetTasksPosition()
            screen = .tasks
        case .escape: overlay = nil
        case .backspace: overlay = .search(String(text.dropLast()))
        case .character(let character): overlay = .search(text + String(character))
        default: break
        }
    }

    /// The wait reasons present, most tasks first, for the picker.
    public var waitReasons: [(reason: String, count: Int)] {
        (shown.summary?.waits ?? [:]).map { ($0.key, $0.value) }.sorted {
            $0.count != $1.count ? $0.count > $1.count : $0.reason < $1.reason
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
