#!/usr/bin/env bash
# The folders of proxy/ are layers; a file may include its own layer and those below it, never one
# above. The order, bottom first, is the one proxy/README.md explains; proxy/'s own files (the
# listener and its configuration) sit on top. Prints every include that points up, and exits 1 if
# there is one. Usage: check-include-layers.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

layers=(state net http http1 upstream accounting tls rules flows capture session)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done
top=${#layers[@]}

layer_of() {  # proxy/<folder>/<file> -> the folder's rank; proxy/<file> -> the top
    local rest=${1#proxy/}
    if [[ $rest != */* ]]; then echo "$top"; return; fi
    local folder=${rest%%/*}
    if [[ -z ${rank[$folder]+set} ]]; then echo "unknown"; return; fi
    echo "${rank[$folder]}"
}

status=0
while IFS= read -r file; do
    own=$(layer_of "$file")
    if [[ $own == unknown ]]; then
        echo "$file: in a folder that is no layer (add it to the list in $0 and proxy/README.md)"
        status=1
        continue
    fi
    while IFS=: read -r line target; do
        included=$(layer_of "$target")
        if [[ $included == unknown ]]; then
            echo "$file:$line: includes $target, in a folder that is no layer"
            status=1
        elif (( included > own )); then
            echo "$file:$line: includes $target, a layer above its own"
            status=1
        fi
    done < <(grep -n -o '#include "proxy/[^"]*"' "$file" | sed 's/#include "\(.*\)"/\1/')
done < <(find proxy -name '*.hpp' -o -name '*.cpp' | sort)

if (( status == 0 )); then
    echo "include layers hold: ${layers[*]} (bottom first), then proxy/'s own files"
fi
exit $status
