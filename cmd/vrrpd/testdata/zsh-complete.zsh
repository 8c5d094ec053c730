# zsh -f zsh-complete.zsh DIR LINE OUT
# Types LINE and a Tab in an interactive zsh whose fpath has DIR (with _vrrpd), and
# writes every match the completion system was given to OUT, one a line, then a line
# "#done" once the completion has ended. Each step waits for what the shell prints or
# writes; the caller bounds the time.
zmodload zsh/zpty zsh/zselect
zpty z zsh -f -i
zpty -w z "PS1='> '; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "compadd() { local -a m; builtin compadd -O m \"\$@\"; print -rl -- \$m >>${(q)3}; builtin compadd \"\$@\" }"
zpty -w z "tab() { zle expand-or-complete; print -r -- '#done' >>${(q)3} }; zle -N tab; bindkey '^I' tab"
# The shell's echo of this line has no READY-2: only its output has.
zpty -w z 'echo READY-$((1+1))'
zpty -r -m z out '*READY-2*' || exit 1
zpty -w -n z "$2"$'\t'
# Input that arrives while completing cuts the completion short: wait for its end.
until [[ -f $3 && "$(<$3)" == *'#done'* ]]; do
  zselect -t 5
done
zpty -d z
