import TradeSyncStore

extension Workspace {
    /// What `apply` would do (`tradesync plan`): computed through a read-only view of the store.
    public func plan() async throws -> DeploymentPlan {
        try await Planner(project: project, deployment: deployment, resolver: resolver)
            .plan(try await PlanStoreView.read(store)).0
    }

    /// Executes the plan of the working tree (`tradesync apply`); with `expected` (a saved plan),
    /// refuses with `StalePlanError` when the configuration or the store changed since it was made.
    public func apply(expected: DeploymentPlan? = nil) async throws -> ApplyReport {
        try await Applier(project: project, deployment: deployment, store: store,
                          planner: Planner(project: project, deployment: deployment, resolver: resolver),
                          movedOrigins: inputs.movedOrigins)
            .apply(expected: expected)
    }
}
