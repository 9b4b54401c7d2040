import ScopeClient
import ScopeProtocol

extension UIState {
    /// Applies one action: the whole of the UI's behaviour, as a state transition that
    /// returns the effects it asks for (quit, export, load, follow, choose, redraw). A change of
    /// what the screens need comes back as one ``Effect/load(_:)`` with the new plan.
    @discardableResult
    public mutating func apply(_ action: Action) -> [Effect] {
        let before = LoadPlan(self)
        var effects = update(action)
        let after = LoadPlan(self)
        if after != before { effects.append(.load(after)) }
        return effects
    }

    private mutating func update(_ action: Action) -> [Effect] {
        switch action {
        case .key(let key): return press(key)
        case .resize(let width, let height):
            self.width = width
            self.height = height
            let visible = tableRows
            for screen in Screen.allCases { positions[screen]?.scroll(visible: visible) }
        case .connected(let hello):
            // Another pid behind the source (a restart followed, or a new process at the socket): say so.
            if let previous = self.hello, previous.pid != hello.pid {
                status = "process \(previous.pid) is gone; following \(hello.pid)"
            }
            self.hello = hello
            if var following {
                following.pid = hello.pid
                following.known.insert(hello.pid)
                self.following = following
            }
            if case .offline = connection {} else { connection = .live }
        case .summary(let summary):
            let picked = pickedReason
            data.summary = summary
            if case .lost = connection { connection = .live }
            // The reasons are re-sorted by their new counts: the selection stays on its reason.
            if let picked, let index = waitReasons.firstIndex(where: { $0.reason == picked }) {
                overlay = .waitPicker(selected: index + 1)
            } else if case .waitPicker(let selected)? = overlay {
                overlay = .waitPicker(selected: min(selected, waitReasons.count))
            }
        case .history(let samples): data.history = samples
        case .warnings(let warnings): data.warnings = warnings
        case .resources(let resources):
            data.resources = resources
            clampSelection(.resources, count: resourceRows.count)
        case .tasks(let page, let query):
            data.page = page
            data.pageQuery = query
            clampSelection(.tasks, count: page.total)
        case .groups(let groups):
            data.groups = groups
            clampSelection(.groups, count: groupRows.count)
        case .detail(let detail): data.detail = detail
        case .detailStack(let stack): data.detailStack = stack
        case .stackGroups(let list):
            data.stackGroups = list
            if groupsByStack { clampSelection(.groups, count: stackRows.count) }
        case .disconnected(let reason):
            if case .offline = connection { status = reason } else { connection = .lost(reason) }
        case .discovered(let processes): return discovered(processes)
        case .quit: return [.quit]
        case .exported(let result):
            exporting = false
            switch result {
            case .success(let path): status = "exported to \(path)"
            case .failure(let failure): status = "export failed: \(failure.message)"
            }
        }
        return []
    }

    /// Attachable processes seen while the connection is lost. When the process followed has
    /// gone, the one new process is followed; several new ones end the UI, handed back to pick
    /// from. Processes known before (``RestartFollowing/known``) are never taken for the restart.
    private mutating func discovered(_ processes: [AttachableProcess]) -> [Effect] {
        guard var following, case .lost = connection else { return [] }
        // Still attachable: not gone, only out of reach for a moment; the loader reconnects.
        guard !processes.contains(where: { $0.pid == following.pid }) else { return [] }
        let gone = following.pid
        let fresh = processes.filter { !following.known.contains($0.pid) }
        switch fresh.count {
        case 0:
            status = "process \(gone) is gone; waiting for a new process to attach to"
            return []
        case 1:
            following.pid = fresh[0].pid
            following.known.insert(fresh[0].pid)
            self.following = following
            status = "process \(gone) is gone; following \(fresh[0].pid)"
            connection = .connecting
            return [.follow(fresh[0])]
        default:
            status = "process \(gone) is gone; \(fresh.count) new processes are attachable"
            return [.choose(gone: gone, among: fresh)]
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
        case .groups: groupsByStack ? stackRows.count : groupRows.count
        case .resources: resourceRows.count
        case .warnings: shown.warnings.count
        }
    }

    // MARK: Keys

    private mutating func press(_ key: Key) -> [Effect] {
        if case .search(let text)? = overlay {
            // Letters are text while typing; F10 and Ctrl-L still quit and repaint.
            switch KeyBinding.command(for: key) {
            case .quit? where !key.isCharacter: return [.quit]
            case .redraw?: return [.redraw]
            default:
                editSearch(text, key)
                return []
            }
        }
        let screenCommand = overlay == nil ? KeyBinding.screenCommand(for: key, on: screen) : nil
        guard let command = screenCommand ?? KeyBinding.command(for: key) else { return [] }
        if overlay != nil, let effects = handleOverlay(command) { return effects }
        switch command {
        case .screen(let target): show(target)
        case .nextScreen: show(Screen.allCases.cycling(from: screen, by: 1))
        case .previousScreen: show(Screen.allCases.cycling(from: screen, by: -1))
        case .up: move(-1)
        case .down: move(1)
        case .pageUp: move(-tableRows)
        case .pageDown: move(tableRows)
        case .top: move(-Int.max / 2)
        case .bottom: move(Int.max / 2)
        case .open: open()
        case .back: back()
        case .search:
            // The search filters the list shown; the overview has none, so it shows the tasks.
            if sortIndicator(for: screen) == nil { screen = .tasks }
            overlay = .search(textFilter ?? "")
        case .groupByStack:
            guard screen == .groups else {
                status = "b groups the Groups screen (3) by the waiting tasks' async stacks"
                return []
            }
            groupsByStack.toggle()
            positions[.groups] = ListPosition()
            status = groupsByStack ? "Groups by async stack (b: by site again)" : "Groups by site (b: by async stack)"
        case .pickWait: overlay = .waitPicker(selected: 0)
        case .nextSort: changeSort(by: 1)
        case .previousSort: changeSort(by: -1)
        case .reverseSort: reverseSort()
        case .pause:
            frozen = isPaused ? nil : data
            status = isPaused ? "paused: the display is frozen, data keeps coming (space resumes)" : nil
        case .export:
            if exporting { return [] }
            exporting = true
            status = "exporting…"
            return [.export(ExportRequest(process: hello?.process ?? shown.summary?.process, pid: hello?.pid))]
        case .help: overlay = overlay == .help ? nil : .help
        case .redraw: return [.redraw]
        case .quit: return [.quit]
        }
        return []
    }

    private mutating func show(_ target: Screen) {
        screen = target
        closeOverlay()
    }

    private mutating func closeOverlay() {
        overlay = nil
        detailTrail = []
    }

    private mutating func move(_ delta: Int) {
        var position = self.position(screen)
        position.move(by: delta, count: rowCount, visible: tableRows)
        positions[screen] = position
    }

    private static let stackGroupsHaveNoSort = "Groups by stack are largest first; b groups by site, which sorts"

    /// `s`, `←`, `→`: the next (or previous) column of the screen shown, in its default direction.
    private mutating func changeSort(by step: Int) {
        if screen == .groups, groupsByStack {
            status = Self.stackGroupsHaveNoSort
            return
        }
        switch screen {
        case .tasks:
            sort = TaskQuery.SortKey.columnOrder.cycling(from: sort, by: step)
            descending = nil
        case .groups:
            groupSort = GroupSortKey.allCases.cycling(from: groupSort, by: step)
            groupDescending = nil
        case .resources:
            resourceSort = ResourceSortKey.allCases.cycling(from: resourceSort, by: step)
            resourceDescending = nil
        default:
            status = "\(screen.title) has no sort; Tasks, Groups and Resources do"
            return
        }
        positions[screen] = ListPosition()
    }

    /// `S`: the other direction.
    private mutating func reverseSort() {
        if screen == .groups, groupsByStack {
            status = Self.stackGroupsHaveNoSort
            return
        }
        guard let indicator = sortIndicator(for: screen) else {
            status = "\(screen.title) has no sort; Tasks, Groups and Resources do"
            return
        }
        switch screen {
        case .tasks: descending = !indicator.descending
        case .groups: groupDescending = !indicator.descending
        case .resources: resourceDescending = !indicator.descending
        default: return
        }
        positions[screen] = ListPosition()
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
            detailTrail = []
        case .groups where groupsByStack:
            // A stack group's first task, whose detail shows the whole stack.
            guard let group = stackRows[safe: selected], let first = group.sampleIDs.first else { return }
            overlay = .detail(taskID: first, child: 0)
            detailTrail = []
        case .groups:
            guard let group = groupRows[safe: selected] else { return }
            scope = TaskScopeFilter(
                label:
                    "group \(group.key.reason ?? "(active)") at \(group.key.waitSite?.description ?? group.key.spawnSite.description)",
                waitSite: group.key.waitSite, spawnSite: group.key.spawnSite)
            waitFilter = group.key.reason
            resetTasksPosition()
            screen = .tasks
        case .resources:
            guard let resource = resourceRows[safe: selected] else { return }
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

    /// Keys while an overlay is open: the effects when the overlay took the key, nil when
    /// the key goes on to the screen.
    private mutating func handleOverlay(_ command: Command) -> [Effect]? {
        // Quitting and repainting work whatever is open.
        if command == .quit || command == .redraw { return nil }
        switch overlay {
        case .help?:
            if command == .help || command == .back {
                overlay = nil
                return []
            }
            overlay = nil
            return nil
        case .detail(let taskID, let child)?:
            let children = shown.detail?.task.id == taskID ? shown.detail?.children ?? [] : []
            switch command {
            case .back:
                // Back to the detail this one was opened from, else to the list.
                if let parent = detailTrail.popLast() {
                    overlay = .detail(taskID: parent.taskID, child: parent.child)
                } else {
                    overlay = nil
                }
            case .up: overlay = .detail(taskID: taskID, child: max(0, child - 1))
            case .down:
                // Past the last child, Down scrolls on through the stack below the children.
                let stackLines = shown.detailStack?.taskID == taskID ? shown.detailStack?.lines.count ?? 0 : 0
                overlay = .detail(taskID: taskID, child: min(max(0, children.count + 2 + stackLines), child + 1))
            case .open:
                if let next = children[safe: child] {
                    detailTrail.append(DetailStep(taskID: taskID, child: child))
                    overlay = .detail(taskID: next.id, child: 0)
                }
            case .screen(.warnings):
                // From a task the warnings name, 5 opens the Warnings screen at the first of them.
                guard let task = shown.detail?.task, task.id == taskID,
                    let named = shown.warnings(naming: task).first,
                    let index = shown.orderedWarnings.firstIndex(of: named)
                else { return nil }
                detailTrail = []
                _ = openWarning(at: index)
            case .screen, .nextScreen, .previousScreen: return nil
            default: break
            }
            return []
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
                for screen in [Screen.groups, .resources] { positions[screen] = ListPosition() }
                if sortIndicator(for: screen) == nil { screen = .tasks }
            default: break
            }
            return []
        case .search?, nil:
            return nil
        }
    }

    /// A key while the search line is open: the filter follows every edit, Enter keeps it,
    /// Esc clears it.
    private mutating func editSearch(_ text: String, _ key: Key) {
        var edited = text
        switch key {
        case .enter:
            overlay = nil
            return
        case .escape:
            overlay = nil
            edited = ""
        case .backspace: edited = String(text.dropLast())
        case .character(let character): edited = text + String(character)
        default: return
        }
        if case .search? = overlay { overlay = .search(edited) }
        let filter = edited.isEmpty ? nil : edited
        guard filter != textFilter else { return }
        textFilter = filter
        positions[screen] = ListPosition()
        resetTasksPosition()
    }

    /// The reason selected in the open picker, if one (not "(all)") is.
    private var pickedReason: String? {
        guard case .waitPicker(let selected)? = overlay, selected > 0 else { return nil }
        return waitReasons[safe: selected - 1]?.reason
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
