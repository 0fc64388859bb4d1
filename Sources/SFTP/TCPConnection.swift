import Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Opens a TCP connection to `host:port`, trying each resolved address, each with `timeout` seconds.
/// Returns a blocking socket descriptor; the caller owns and closes it.
func connectTCP(host: String, port: Int, timeout: Double) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    #else
        hints.ai_socktype = SOCK_STREAM
    #endif
    var list: UnsafeMutablePointer<addrinfo>? = nil
    let resolved = getaddrinfo(host, String(port), &hints, &list)
    guard resolved == 0, let first = list else {
        throw SFTPError(
            .hostNotResolved, "cannot resolve the SFTP host \(host)",
            underlying: String(cString: gai_strerror(resolved)),
            remedy: "Check `host` in the sftp auth section ([auth.NAME]) of the config, and the machine's DNS")
    }
    defer { freeaddrinfo(list) }

    var lastError: SFTPError? = nil
    var entry: UnsafeMutablePointer<addrinfo>? = first
    while let address = entry {
        entry = address.pointee.ai_next
        do {
            return try connectOne(address.pointee, host: host, port: port, timeout: timeout)
        } catch let error as SFTPError {
            lastError = error
        }
    }
    throw lastError ?? SFTPError(.connectFailed, "no address to connect to for \(host):\(port)")
}

private func connectOne(_ address: addrinfo, host: String, port: Int, timeout: Double) throws -> Int32 {
    let descriptor = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
    guard descriptor >= 0 else {
        throw SFTPError(
            .connectFailed, "cannot create a socket for \(host):\(port)", underlying: systemErrorText(errno))
    }
    var keep = false
    defer { if !keep { close(descriptor) } }

    // Non-blocking connect, so a silent host cannot hold us longer than `timeout`.
    let flags = fcntl(descriptor, F_GETFL, 0)
    _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
    var status: Int32 = 0
    if connect(descriptor, address.ai_addr, address.ai_addrlen) != 0 {
        guard errno == EINPROGRESS else {
            throw connectError(errno, host: host, port: port, timeout: timeout)
        }
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&poller, 1, Int32(max(1, timeout * 1000)))
        if ready == 0 { throw connectError(ETIMEDOUT, host: host, port: port, timeout: timeout) }
        if ready < 0 { throw connectError(errno, host: host, port: port, timeout: timeout) }
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &status, &length)
        if status != 0 { throw connectError(status, host: host, port: port, timeout: timeout) }
    }
    _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK)
    var one: Int32 = 1
    setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    keep = true
    return descriptor
}

private func connectError(_ number: Int32, host: String, port: Int, timeout: Double) -> SFTPError {
    let target = "\(host):\(port)"
    switch number {
    case ECONNREFUSED:
        return SFTPError(
            .connectionRefused, "the SFTP server \(target) refused the connection", underlying: systemErrorText(number),
            remedy: "Check `host` and `port`; if they are right the server is down, try again later")
    case ETIMEDOUT:
        return SFTPError(
            .connectTimeout, "no answer from the SFTP server \(target) within \(timeout) s",
            remedy: "Check `host`, `port` and any firewall between this machine and the server; try again later")
    default:
        return SFTPError(
            .connectFailed, "cannot connect to the SFTP server \(target)", underlying: systemErrorText(number),
            remedy: "Check the network and try again later")
    }
}
