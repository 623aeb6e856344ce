# Homebrew formula for pcp. packaging/homebrew/release.sh makes the
# release tarball (CMake's package_source target) and writes its url and
# sha256 here. With OpenDHT the binary is under the GPL-3.0-or-later
# (pcp's own code is Apache-2.0; packaging/README.md).
class Pcp < Formula
  desc "Send files between computers with a four-word code, end-to-end encrypted"
  homepage "https://github.com/pcp-transfer/pcp"
  url "https://github.com/pcp-transfer/pcp/releases/download/v0.1.0/pcp-0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "GPL-3.0-or-later"

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
    # A real transfer on loopback, found through mDNS there only.
    lo = OS.mac? ? "lo0" : "lo"
    code = "bubble-enemy-result-increase"
    opts = ["--no-relay", "--no-dht", "--mdns-interface", lo, "--timeout", "60"]
    (testpath/"hello.txt").write "hello from pcp\n"
    sender = spawn bin/"pcp", "send", *opts, "--code", code, testpath/"hello.txt"
    system bin/"pcp", "receive", *opts, "--yes", "--out", testpath/"got", code
    Process.wait(sender)
    assert_equal 0, $CHILD_STATUS.exitstatus
    assert_equal "hello from pcp\n", (testpath/"got/hello.txt").read
  end
end
