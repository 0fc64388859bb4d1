import Config
import Core
import Foundation
import HTTP
import Responsys

/// The Responsys client of an export workflow, built from its interact auth.
enum ExportClient {
    static func make(
        _ auth: InteractAuthConfig, password: String, rateLimitPerMinute: Int?, concurrency: Int, logger: Logger
    ) throws -> ResponsysClient {
        let responsysAuth: ResponsysAuth
        if let baseURL = auth.baseURL {
            responsysAuth = ResponsysAuth(username: auth.username, password: password, baseURL: baseURL)
        } else if let instance = auth.instance.flatMap({ ResponsysAuth.Instance(rawValue: $0.rawValue) }) {
            responsysAuth = ResponsysAuth(username: auth.username, password: password, instance: instance)
        } else {
            throw ETLError(.config, "the interact auth of user \(auth.username) names no instance and no base_url")
        }
        var limits = ResponsysLimits()
        limits.maxInFlight = concurrency
        if let perMinute = rateLimitPerMinute {
            for function in [
                APIFunction.mergeListMembers, .deleteListMembers, .mergeProfileExtensionMembers,
                .deleteProfileExtensionMembers, .mergeTriggerEmail,
            ] {
                limits.perMinute[function] = perMinute
            }
        }
        var options = HTTPOptions()
        options.connectTimeout = Double(auth.connectTimeoutSeconds)
        options.totalTimeout = Double(auth.requestTimeoutSeconds)
        return try ResponsysClient(
            auth: responsysAuth, limits: limits, http: HTTPClient(options: options), logger: logger)
    }

    /// `check`: logs in and names every list, extension table or campaign that is missing.
    static func check(
        _ client: ResponsysClient, list: String?, pets: [String], campaign: String?, workflow: String,
        report: (String) -> Void
    ) throws {
        try client.login()
        report("responsys \(client.auth.loginURL): logged in as \(client.auth.username)")
        var missing: [String] = []
        if let campaign {
            if try client.campaignExists(campaign) {
                report("campaign \(campaign): exists")
            } else {
                missing.append("campaign \(campaign)")
            }
        }
        if let list, try client.listExists(list) {
            report("list \(list): exists")
            for pet in pets {
                if try client.petExists(list: list, pet: pet) {
                    report("extension table \(pet) of list \(list): exists")
                } else {
                    missing.append("extension table \(pet) of list \(list)")
                }
            }
        } else if let list {
            missing.append("list \(list)")
            missing += pets.map { "extension table \($0) of list \(list)" }
        }
        if !missing.isEmpty {
            throw ExportError(
                .missingInResponsys, "workflow \(workflow): not found in Responsys: " + missing.joined(separator: ", "),
                remedy: "create them in Responsys, or fix the names in the config (names are case-sensitive)",
                status: .usage)
        }
    }
}
