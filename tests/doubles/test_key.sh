# Sourced by the doubles' build scripts: a throwaway TEST signing key in the gpg home $1, made there when it has none
# (so that one key can sign several doubles), as $fingerprint, with gpg_test (gpg on that home) and test_key_stop
# (stops its agent).
# shellcheck shell=bash
test_gnupg=$1
mkdir -p "$test_gnupg" && chmod 0700 "$test_gnupg"
gpg_test() { gpg --batch --no-tty --quiet --homedir "$test_gnupg" "$@"; }
test_key_stop() { gpgconf --homedir "$test_gnupg" --kill all 2>/dev/null || true; }
if ! gpg_test --list-secret-keys --with-colons 2>/dev/null | grep -q '^sec'; then
  gpg_test --pinentry-mode loopback --passphrase '' \
    --quick-generate-key "spotkit.ec2 TEST DOUBLE signing key <test-double@spotkit.invalid>" ed25519 sign never
fi
# shellcheck disable=SC2034 # read by the script that sources this one
fingerprint=$(gpg_test --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
