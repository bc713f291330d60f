"""Which option words take a value, per program the shell reading understands, and each package
manager's names for its subcommands: data, no code.

Why tables: ``apt-get -o Dpkg::Options::=--force-confold install x`` installs ``x``, not
``Dpkg::Options...``; only the program's own list of valued options tells a value from a
package, a URL from an output file. Each table is the program's documentation (``apt-get(8)``,
``pip install --help``, ``curl --help all`` ...) written down once, read by
``leanify.shell.packages`` and ``leanify.shell.downloads``.
"""

from __future__ import annotations


def words(*text: str) -> frozenset[str]:
    """The set of blank-separated words in ``text``: a table written as the manual lists it."""
    return frozenset(w for s in text for w in s.split())


# ---- package managers --------------------------------------------------------------------------
# per manager: option words that take a value
TAKES = {
    "apt": words("-o --option -c --config-file -t --target-release --default-release -a --host-architecture"),
    "apk": words("-X --repository -t --virtual --root -p --arch --repositories-file --keys-dir --cache-dir --cache-max-age"),
    "yum": words("-x --exclude --installroot --releasever --disablerepo --enablerepo -c --config --setopt "
                 "--repo --repoid --downloaddir --destdir -d --debuglevel -e --errorlevel --rpmverbosity --nogpgcheck= --forcearch"),
    "zypper": words("--root -R --repo -r --from --type -t --reposd-root -D --cache-dir -C --raw-cache-dir --solv-cache-dir --pkg-cache-dir"),
    "pip": words("-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f --find-links "
                 "-t --target --prefix --root --trusted-host --platform --python-version --implementation --abi "
                 "--only-binary --no-binary --progress-bar --log --cache-dir --src --upgrade-strategy --timeout "
                 "--retries --proxy --cert --client-cert -C --config-settings --global-option --install-option "
                 "--exists-action --report --python -d --dest --root-user-action --index --default-timeout -b --build"),
    "poetry": words("--only --with --without -E --extras --directory -C --project -P --source -G --group -f --format -o --output"),
    "npm": words("--prefix --registry --cache --loglevel --omit --only --include -w --workspace --tag --userconfig --install-strategy"),
    "yarn": words("--cache-folder --modules-folder --network-timeout --registry --mutex --cwd --network-concurrency --mode"),
    "pnpm": words("--filter -F --dir -C --store-dir --reporter --registry --config.store-dir --virtual-store-dir --network-concurrency"),
    "gem": words("-v --version -i --install-dir -n --bindir --source -s --platform -g --file --build-root"),
    "bundle": words("--jobs -j --retry --path --without --with --gemfile --binstubs --standalone"),
    "composer": words("-d --working-dir --prefer-install"),
    "go": words("-o -ldflags -tags -gcflags -mod -modfile -p -C -buildmode -pkgdir -asmflags -installsuffix -toolexec "
                "-overlay -pgo -compiler -gccgoflags -exec -run -bench -timeout -count -coverprofile"),
    "cargo": words("--target --features -F --bin --manifest-path --root --profile -p --package -j --jobs --target-dir "
                   "--version --vers --git --path --branch --tag --rev --example --config -Z --registry --index"),
    "mvn": words("-f --file -s --settings -gs --global-settings -P --activate-profiles -pl --projects -T --threads "
                 "-rf --resume-from -l --log-file -t --toolchains -D --define"),
    "gradle": words("-p --project-dir -x --exclude-task -b --build-file -c --settings-file -g --gradle-user-home "
                    "-I --init-script --max-workers -D -P --system-prop --project-prop"),
    "uv": words("-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f --find-links "
                "-t --target --prefix --python -p --cache-dir --index --default-index --group --extra --only-group "
                "--project --directory --no-install-package --python-platform --index-strategy --resolution --prerelease "
                "--keyring-provider --link-mode --compile-bytecode= --package --only-binary --no-binary --override "
                "--overrides --exclude --excludes --build-constraint --build-constraints -b --config-file"),
}  # fmt: skip
SHORT_TAKES = {"apt": "oct", "apk": "Xtp", "yum": "xcde", "dnf": "xcde", "pip": "rceiftd", "uv": "rceiftpb", "zypper": "Rrt"}
NO_CLUSTERS = frozenset({"go", "mvn", "gradle", "cargo", "npm", "yarn", "pnpm", "gem", "bundle", "composer", "poetry"})
TAKES["dnf"] = TAKES["microdnf"] = TAKES["yum"]

ACTION_ALIASES = {
    "npm": {"i": "install", "in": "install", "ins": "install", "inst": "install", "insta": "install", "instal": "install",
            "isnt": "install", "isnta": "install", "isntal": "install", "isntall": "install", "add": "install",
            "ci": "ci", "clean-install": "ci", "ic": "ci", "install-clean": "ci", "isntall-clean": "ci",
            "un": "uninstall", "uninstall": "uninstall", "remove": "uninstall", "rm": "uninstall", "r": "uninstall",
            "unlink": "uninstall", "run-script": "run", "rum": "run", "urn": "run", "up": "update", "upgrade": "update",
            "udpate": "update", "c": "config", "it": "install-test", "cit": "install-ci-test", "t": "test", "tst": "test"},
    "pnpm": {"i": "install", "rm": "remove", "uninstall": "remove", "un": "remove", "up": "update", "upgrade": "update",
             "run-script": "run", "t": "test"},
    "yarn": {"i": "install"},
    "zypper": {"in": "install", "rm": "remove", "ref": "refresh", "up": "update", "dup": "dist-upgrade", "cc": "clean",
               "ar": "addrepo", "rr": "removerepo", "se": "search", "ve": "verify", "lu": "list-updates", "pa": "packages"},
    "apt": {"dist-upgrade": "dist-upgrade", "full-upgrade": "dist-upgrade"},
    "yum": {"erase": "remove", "update": "upgrade", "localinstall": "install"},
    "dnf": {"erase": "remove", "update": "upgrade", "in": "install", "rm": "remove", "up": "upgrade", "localinstall": "install"},
    "microdnf": {"update": "upgrade", "erase": "remove"},
    "gem": {"i": "install"},
    "composer": {"i": "install", "u": "update", "upgrade": "update", "clearcache": "clear-cache", "cc": "clear-cache",
                 "dumpautoload": "dump-autoload", "r": "require"},
    "apk": {},
    "bundle": {},
    "cargo": {"b": "build", "r": "run", "t": "test", "c": "check"},
}  # fmt: skip


# ---- download tools ----------------------------------------------------------------------------
CURL_TAKES = words(
    "-o --output -H --header -d --data --data-raw --data-binary --data-urlencode -u --user -A --user-agent -e --referer "
    "-x --proxy -X --request -m --max-time --retry --connect-timeout --proto --proto-redir -w --write-out --output-dir "
    "-T --upload-file -b --cookie -c --cookie-jar -F --form --cacert --cert --key -r --range -C --continue-at -z "
    "--time-cond -y --speed-time -Y --speed-limit --limit-rate --retry-delay --retry-max-time -K --config --resolve "
    "--url -D --dump-header --capath --ciphers --interface --max-filesize --max-redirs -Q --quote -E --stderr"
)
CURL_SHORT = "oHduAexXmwTbcFrCzyYKDQE"
WGET_TAKES = words(
    "-O --output-document -P --directory-prefix -t --tries -T --timeout --header -U --user-agent --user --password "
    "-e --execute -o --output-file -a --append-output -i --input-file --progress --cut-dirs -A --accept -R --reject "
    "-l --level --post-data --post-file --ca-certificate --certificate --private-key --wait -w --limit-rate -Q --quota "
    "--http-user --http-password --ftp-user --ftp-password -B --base --bind-address --load-cookies --save-cookies"
)
WGET_SHORT = "OPtTUeoaiARlwQB"
#: ``git clone`` options that take a value (and the short letters that do so in a cluster)
GIT_CLONE_TAKES = words("-b --branch --depth -o --origin -c --config --reference --separate-git-dir -j --jobs --filter")
GIT_CLONE_SHORT = "bocj"
