import Glibc
import Synchronization

/// The path every provider request takes: added latency, a queued fault, a random server
/// error, authentication, the rate limit, the provider's answer, and faults that spoil it.
/// Every provider request is counted in `requestLog`.
final class ProviderGateway: Sendable {
    let options: SimulatorOptions
    let northflank: NorthflankAPI
    let typesense: TypesenseCloudAPI
    let usageflow: UsageFlowAPI
    let changes = InvoiceChanges()
    let faults = FaultPlan()
    let requestLog = RequestLog()
    private let limiter: RateLimiter
    private let errorDice: Mutex<SeededRandom>

    init(options: SimulatorOptions) {
        self.options = options
        northflank = NorthflankAPI(options: options)
        typesense = TypesenseCloudAPI(options: options)
        usageflow = UsageFlowAPI(options: options)
        limiter = RateLimiter(scale: options.rateScale)
        errorDice = Mutex(SeededRandom(seed: options.seed, .providerErrors))
    }

    func provider(_ kind: SimulatedProvider) -> any ProviderAPI {
        switch kind {
        case .northflank: northflank
        case .typesense: typesense
        case .usageflow: usageflow
        }
    }

    /// The instant data is generated against: the fixed `now`, or the real clock.
    func now() -> Int64 {
        options.now ?? UTCCalendar.currentTime()
    }

    func serve(_ request: HTTPRequest) -> HTTPResponse {
        for kind in SimulatedProvider.allCases {
            let provider = provider(kind)
            guard let endpoint = provider.endpoint(for: request) else { continue }
            let ticket = requestLog.arrive(method: request.method, target: request.target, endpoint: endpoint.template)
            var response = answer(request, provider, endpoint)
            if let policy = provider.rateLimit, policy.advertised, response.header("x-ratelimit-limit") == nil {
                let window = limiter.peek(
                    key: windowKey(provider, provider.presentedKey(request) ?? ""), policy: policy)
                response.setHeader("x-ratelimit-limit", String(window.limit))
                response.setHeader("x-ratelimit-remaining", String(window.remaining))
                response.setHeader("x-ratelimit-reset", String(window.resetSeconds))
            }
            requestLog.complete(ticket, status: response.loggedStatus)
            return response
        }
        let ticket = requestLog.arrive(
            method: request.method, target: request.target,
            endpoint: "\(request.method) \(request.path)")
        requestLog.complete(ticket, status: 404)
        return .simulatorError(404, "no simulated provider serves \(request.path)")
    }

    private func answer(_ request: HTTPRequest, _ provider: any ProviderAPI, _ endpoint: Endpoint) -> HTTPResponse {
        if options.latencyMs > 0 {
            Self.pause(milliseconds: options.latencyMs)
        }
        let fault = faults.take(for: request)
        if let fault {
            if let response = immediateAnswer(fault, provider) { return response }
            if fault.kind == .stall {
                Self.pause(milliseconds: fault.value)
            }
        }
        if let fault, fault.kind == .ratelimitShared, let policy = provider.rateLimit,
            let key = provider.presentedKey(request)
        {
            limiter.share(
                key: windowKey(provider, key), policy: policy, remainingAfterNext: fault.allow,
                leavingInSeconds: fault.value)
        }
        if options.errorRate > 0, let status = rollServerError() {
            return provider.errorResponse(status: status, message: HTTPResponse.reason(status))
        }
        guard let key = provider.presentedKey(request), key == provider.apiKey else {
            return provider.errorResponse(status: 401, message: provider.unauthorizedMessage)
        }
        if let policy = provider.rateLimit,
            case .limited(let retryAfter) = limiter.admit(
                key: windowKey(provider, key), policy: policy,
                enforce: options.rateLimits)
        {
            var response = provider.errorResponse(status: 429, message: provider.rateLimitedMessage)
            response.setHeader("Retry-After", String(retryAfter))
            return response
        }
        let context = ProviderContext(
            now: now(), changes: changes.snapshot(),
            mutation: fault?.kind.bodyMutation ?? .none, faults: faults)
        var response = provider.respond(to: request, at: endpoint, context: context)
        guard let fault, response.status == 200 else { return response }
        switch fault.kind {
        case .malformed:
            // Any strict prefix of a JSON document is invalid; the tail makes sure of it.
            response.body = Array(response.body.prefix(response.body.count / 2)) + Array("<!-- malformed".utf8)
        case .truncated:
            response.delivery = .truncateThenClose
        case .looseTypes:
            response.body = BodyRewrite.looseTypes(response.body, for: provider.kind)
        case .omit:
            for member in (fault.field ?? "").split(separator: ",") {
                response.body = BodyRewrite.omitting(response.body, member: String(member))
            }
        case .oversize:
            response.body += repeatElement(UInt8(ascii: " "), count: max(0, fault.value - response.body.count))
        default:
            break
        }
        return response
    }

    /// Faults that answer in place of the provider.
    private func immediateAnswer(_ fault: Fault, _ provider: any ProviderAPI) -> HTTPResponse? {
        var response = provider.errorResponse(status: 429, message: fault.message ?? provider.rateLimitedMessage)
        switch fault.kind {
        case .status:
            return provider.errorResponse(status: fault.code, message: fault.message ?? HTTPResponse.reason(fault.code))
        case .retryAfter:
            response.setHeader("Retry-After", String(fault.value))
        case .retryAfterDate:
            response.setHeader("Retry-After", UTCCalendar.httpDate(UTCCalendar.currentTime() + Int64(fault.value)))
        case .ratelimitReset:
            response.setHeader("x-ratelimit-limit", String(provider.rateLimit?.limit ?? 1_000))
            response.setHeader("x-ratelimit-remaining", "0")
            response.setHeader("x-ratelimit-reset", String(fault.value))
        case .reset:
            return .resetWithoutAnswer
        default:
            return nil
        }
        return response
    }

    private func rollServerError() -> Int? {
        errorDice.withLock { dice in
            guard dice.fraction() < options.errorRate else { return nil }
            return [500, 502, 503][Int(dice.below(3))]
        }
    }

    private static func pause(milliseconds: Int) {
        var delay = timespec(tv_sec: milliseconds / 1_000, tv_nsec: milliseconds % 1_000 * 1_000_000)
        var left = timespec()
        while nanosleep(&delay, &left) != 0 && errno == EINTR {
            delay = left
        }
    }

    private func windowKey(_ provider: any ProviderAPI, _ key: String) -> String {
        provider.kind.rawValue + "/" + key
    }
}
