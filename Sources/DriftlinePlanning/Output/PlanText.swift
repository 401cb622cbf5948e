import Foundation

/// The plan as a DBA reads it first: the decision and why, the DDL, the change per query class.
public enum PlanText {
    public static func render(_ plan: PartitionPlan) -> String {
        var lines: [String] = []
        lines.append("\(plan.table): \(plan.decision == .repartition ? "RE-PARTITION to \(plan.strategy.summary)" : "KEEP \(plan.strategy.summary)")")
        lines.append("why: \(plan.reason)")
        if !plan.ddl.isEmpty {
            lines.append("")
            lines.append("DDL (the new table; the executor copies the rows and swaps it in):")
            let shown = plan.ddl.count > 14 ? Array(plan.ddl.prefix(6)) + ["-- … \(plan.ddl.count - 12) more partitions …"] + Array(plan.ddl.suffix(6)) : plan.ddl
            lines += shown.map { "  " + $0 }
        }
        lines.append("")
        lines.append("per query class (buffers per execution, partitions scanned), now → \(plan.decision == .repartition ? "new" : "kept"):")
        for estimate in plan.estimated.perClass.sorted(by: { $0.callsPerDay * $0.buffersNow > $1.callsPerDay * $1.buffersNow }) {
            let statement = estimate.statement.count > 90 ? String(estimate.statement.prefix(87)) + "…" : estimate.statement
            lines.append(String(format: "  %10.1f/day  %10.0f → %-10.0f  partitions %6.1f → %-6.1f%@  %@",
                                estimate.callsPerDay, estimate.buffersNow, estimate.buffersNew, estimate.partitionsNow, estimate.partitionsNew,
                                estimate.exactPruning ? "" : " (est.)", statement))
        }
        lines.append(String(format: "total over %.0f days: %.3g → %.3g %@ (%.0f%% less)", plan.estimated.horizonDays, plan.estimated.totalCostNow,
                            plan.estimated.totalCostNew, plan.estimated.unit, plan.estimated.improvement * 100))
        if plan.decision == .repartition {
            lines.append(String(format: "moving it: %.0f rows, %.1f MiB, %.1f MiB temporary space, about %.0f s", plan.resources.rows,
                                plan.resources.bytes / 1_048_576, plan.resources.tempBytes / 1_048_576, plan.resources.seconds))
        }
        if !plan.alternatives.isEmpty {
            lines.append("")
            lines.append("alternatives:")
            for alternative in plan.alternatives.prefix(6) {
                lines.append(String(format: "  %-44@ %.3g  %@", alternative.strategy.summary, alternative.cost, alternative.whyNot))
            }
        }
        lines.append("")
        lines.append("assumptions:")
        lines += plan.assumptions.map { "  - " + $0 }
        if !plan.notes.isEmpty {
            lines.append("notes:")
            lines += plan.notes.map { "  - " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}
