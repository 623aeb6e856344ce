# Homebrew formula for pcp; packaging/homebrew is laid out as a tap
# (Formula/pcp.rb). packaging/homebrew/release.sh makes the release tarball
# (CMake's package_source target) and writes its url and sha256 here.
# pcp's own code is Apache-2.0; linked with OpenDHT (GPL-3.0-or-later) the
# binary is under the GPL-3.0-or-later (packaging/README.md).
class Pcp < Formula
  desc "Send files between computers with a four-word code, end-to-end encrypted"
  homepage "https://github.com/pcp-transfer/pcp"
  url "https://github.com/pcp-transfer/pcp/releases/download/v0.1.0/pcp-0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license all_of: ["Apache-2.0", "GPL-3.0-or-later"]

  depends_on "cmake" => :build
  depends_on "pkgconf" => :build
  depends_on "libmicrohttpd"
  depends_on "libnatpmp"
  depends_on "libsodium"
  depends_on "miniupnpc"
  depends_on "opendht"
  depends_on "openssl@3"
  depends_on "qrencode"
  depends_on "zstd"
  uses_from_macos "zlib"

  def install
    system "cmake", "-S", ".", "-B", "build", "-DPCP_TESTS=OFF", "-DPCP_INSTALL_SYSTEMD=OFF",
           *std_cmake_args
    system "cmake", "--build", "build"
    system "cmake", "--install", "build"
  end

  test do
    assert_match "QR codes: libqrencode", shell_output("#{bin}/pcp --version")
    # A real transfer on loopback through a relay of its own: no mDNS, no
    # DHT, so neither root nor multicast, and nothing leaves the machine.
    port = free_port
    opts = ["--relay", "http://127.0.0.1:#{port}", "--force-relay", "--no-dht"]
    code = "bubble-enemy-result-increase"
    (testpath/"hello.txt").write "hello from pcp\n"
    relay = spawn bin/"pcp", "relay", "--listen", "127.0.0.1:#{port}", "--drain", "0"
    # Up once it accepts a connection.
    50.times do
      TCPSocket.new("127.0.0.1", port).close
      break
    rescue Errno::ECONNREFUSED
      sleep 0.2
    end
    sender = spawn bin/"pcp", "send", *opts, "--code", code, testpath/"hello.txt"
    system bin/"pcp", "receive", *opts, "--yes", "--timeout", "60", "--out", testpath/"got", code
    Process.wait(sender)
    sender_status = $CHILD_STATUS.exitstatus
    sender = nil
    assert_equal 0, sender_status
    assert_equal "hello from pcp\n", (testpath/"got/hello.txt").read
  ensure
    [sender, relay].compact.each do |pid|
      Process.kill("TERM", pid)
      Process.wait(pid)
    rescue Errno::ESRCH, Errno::ECHILD
      nil
    end
  end
end
