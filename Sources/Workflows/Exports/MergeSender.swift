import Core
import Foundation
import Responsys
import Staging

/// Sends the merge and delete requests of a plan (everything but triggers), each at most until it has a
/// receipt: a resumed load skips the requests that have one and sends the others again. Merges and
/// deletes are safe to repeat, so a request cut off by a crash is simply sent again.
struct MergeSender {
    let client: ResponsysClient
    let folder: StageFolder
    let payloadFolder: String
    let logger: Logger

    /// Sends one request unless it already has a receipt; returns its receipt.
    func send(_ request: ExportPlan.Request) throws -> Receipt {
        if let receipt = try Receipt.finished(request.file, in: folder) { return receipt }
        let body = try body(of: request)
        TestCrashHook.point("before-request")
        let outcome: MergeOutcome
        switch request.kind {
        case "list-merge":
            outcome = try client.mergeListMembers(list: try name(request.list, request), body: body)
        case "pet-merge":
            outcome = try client.mergePETMembers(
                list: try name(request.list, request), pet: try name(request.pet, request), body: body)
        case "list-delete":
            outcome = try client.deleteListMembers(list: try name(request.list, request), body: body)
        default:
            throw ExportError(.badPlan, "request \(request.file) of the plan has the unknown kind \(request.kind)")
        }
        TestCrashHook.point("after-request")
        let receipt = Receipt.from(request, merge: outcome)
        try receipt.record(in: folder)
        TestCrashHook.point("after-receipt")
        let failed = receipt.failures.count
        if failed > 0 {
            logger.warn("records refused", ["request": request.file, "records": request.records, "refused": failed])
        } else {
            logger.debug("request sent", ["request": request.file, "records": request.records])
        }
        return receipt
    }

    func body(of request: ExportPlan.Request) throws -> Data {
        let path = payloadFolder + "/" + request.file
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ExportError(
                .badPlan, "cannot read the request body \(path)", underlying: error.localizedDescription,
                remedy: "re-run the transform stage with --force")
        }
    }

    private func name(_ value: String?, _ request: ExportPlan.Request) throws -> String {
        guard let value, !value.isEmpty else {
            throw ExportError(.badPlan, "request \(request.file) of the plan names no list or extension table")
        }
        return value
    }
}

/// What both export loads start with: the transform's plan, whether this run only records a baseline, and
/// a sender for the merge requests. Refuses a run older than the one that last wrote the state, before
/// anything is sent.
struct ExportLoadStart {
    let plan: ExportPlan
    let baseline: Bool
    let client: ResponsysClient
    let sender: MergeSender

    init(_ context: StageContext, makeClient: () throws -> ResponsysClient) throws {
        guard let transform = context.input, let marker = try transform.readMarker() else {
            preconditionFailure("the runner starts load only after transform finished")
        }
        if try context.folder.finishedItem(DeliveredStateUpdate.itemKey) == nil {
            try DeliveredStateUpdate.checkNotSuperseded(context)
        }
        plan = try ExportPlan.read(from: transform.path)
        baseline = marker.notes["first_run"] == "baseline"
        client = try makeClient()
        sender = MergeSender(
            client: client, folder: context.folder, payloadFolder: transform.file(ExportPlan.payloadFolder),
            logger: context.logger)
    }
}
