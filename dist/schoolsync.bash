# bash completion for schoolsync. Commands, options and table names come
# from the program's own --help (the one source of both), so completion
# follows whatever version is installed. Installed by CMake into
# share/bash-completion/completions/schoolsync.
_schoolsync()
{
	local cur prev words cword cmd i
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local prog=${words[0]} home=()
	cmd=""
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--home) home=(--home "${words[i+1]}"); ((i++)) ;;
		--home=*) home=("${words[i]}") ;;
		-*) ;;
		*) cmd=${words[i]}; break ;;
		esac
	done
	case $prev in
	--home|--root-key|--restore-key|--token-file|--html|--repo)
		COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
	--encoding)
		COMPREPLY=($(compgen -W "auto utf-8 gb18030" -- "$cur")); return ;;
	--role)
		COMPREPLY=($(compgen -W "school hub auditor" -- "$cur")); return ;;
	--remote)
		COMPREPLY=($(compgen -W "$(LC_ALL=C "$prog" "${home[@]}" --json remote list 2>/dev/null |
			sed -n 's/.*"name": *"\([^"]*\)".*/\1/p')" -- "$cur")); return ;;
	esac
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$(LC_ALL=C "$prog" --help 2>/dev/null | sed -n '/^Commands:/,$s/^  \([a-z][a-z-]*\) .*/\1/p')
			--home --json --utc --help --version" -- "$cur"))
		return
	fi
	local help
	help=$(LC_ALL=C "$prog" "${home[@]}" "$cmd" --help 2>/dev/null)
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u) --json --help" -- "$cur"))
		return
	fi
	case $cmd in
	import|export)
		# TABLE first, then a file
		if [ "$prev" = "$cmd" ]; then
			COMPREPLY=($(compgen -W "$(printf '%s\n' "$help" | sed -n 's/.*Tables: //p')" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null
		fi ;;
	report)
		COMPREPLY=($(compgen -W "rotation courses resources freshness all" -- "$cur")) ;;
	*)
		# subcommands: the words after "schoolsync CMD" in the usage lines
		if [ "$prev" = "$cmd" ]; then
			COMPREPLY=($(compgen -W "$(printf '%s\n' "$help" |
				sed -n "s/^ *\(usage: \)\{0,1\}schoolsync $cmd \([a-z][a-z|-]*\).*/\2/p" | tr '|' ' ')" -- "$cur"))
		fi ;;
	esac
}
complete -F _schoolsync schoolsync
