# brew_test.rb FORMULA PREFIX: run the formula's `test do` block as
# `brew test` would, against PREFIX (where its install block put pcp):
# in a fresh testpath that is also HOME and the working directory. Only
# the parts of Homebrew's formula API that the block uses are here, each
# behaving as Homebrew's does (a failed `system` or a wrong exit status
# of `shell_output` fails the test); a call to anything else fails too.
require "English"
require "pathname"
require "socket"
require "tmpdir"

module OS
  def self.mac?
    RUBY_PLATFORM.include?("darwin")
  end

  def self.linux?
    RUBY_PLATFORM.include?("linux")
  end
end

class Formula
  class << self
    attr_reader :test_block

    def test(&block)
      @test_block = block
    end

    # The formula's metadata and its install block do not matter here.
    %i[desc homepage url sha256 license depends_on uses_from_macos head livecheck].each do |m|
      define_method(m) { |*_args, **_opts, &_block| nil }
    end
  end

  attr_reader :testpath

  def initialize(prefix, testpath)
    @prefix = Pathname(prefix)
    @testpath = Pathname(testpath)
  end

  def bin
    @prefix/"bin"
  end

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  def shell_output(cmd, result = 0)
    out = `#{cmd}`
    status = $CHILD_STATUS.exitstatus
    raise "`#{cmd}` exited #{status}, not #{result}" if result && status != result

    out
  end

  def system(cmd, *args)
    puts [cmd, *args].join(" ")
    Kernel.system(*words(cmd, *args)) || raise("failed: #{[cmd, *args].join(" ")}")
  end

  def quiet_system(cmd, *args)
    Kernel.system(*words(cmd, *args), out: File::NULL, err: File::NULL)
  end

  def spawn(*args)
    Process.spawn(*args.map { |a| a.is_a?(Pathname) ? a.to_s : a })
  end

  def assert_match(expected, actual)
    ok = expected.is_a?(Regexp) ? expected.match?(actual) : actual.include?(expected)
    raise "expected #{expected.inspect} in #{actual.inspect}" unless ok
  end

  def assert_equal(expected, actual)
    raise "expected #{expected.inspect}, got #{actual.inspect}" unless expected == actual
  end

  private

  def words(*args)
    args.map(&:to_s)
  end
end

formula_file, prefix = ARGV
abort "usage: ruby brew_test.rb FORMULA PREFIX" unless formula_file && prefix
load File.expand_path(formula_file)
klass = Object.const_get(File.basename(formula_file, ".rb").capitalize)
abort "#{formula_file} has no test block" unless klass.test_block
Dir.mktmpdir("brew-test") do |dir|
  ENV["HOME"] = dir
  ENV.delete("XDG_CONFIG_HOME")
  Dir.chdir(dir) { klass.new(prefix, dir).instance_exec(&klass.test_block) }
end
puts "the formula's test passed"
