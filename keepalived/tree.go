package keepalived

import "strings"

// node is a statement with the block that follows it, if any.
type node struct {
	line
	// block is set when the statement is followed by { ... }.
	block    bool
	children []*node
}

// keyword returns the statement's first word.
func (n *node) keyword() string { return n.words[0] }

// args returns the words after the keyword.
func (n *node) args() []string { return n.words[1:] }

// arg returns the i-th word after the keyword, or "".
func (n *node) arg(i int) string {
	if i+1 < len(n.words) {
		return n.words[i+1]
	}
	return ""
}

// describe names the statement for messages: its keyword and first argument.
func (n *node) describe() string {
	if len(n.words) > 1 {
		return n.words[0] + " " + n.words[1]
	}
	return n.words[0]
}

// parseTree arranges lines into statements and blocks by their braces. A brace that
// does not match, which keepalived reports ("Extra '}' found", "There are N missing
// '}'s"), is refused: what keepalived makes of the rest of the file is not what it says.
func parseTree(lines []line, rep *report) []*node {
	root := &node{block: true}
	stack := []*node{root}
	var last *node // the statement a "{" would open a block for
	for _, l := range lines {
		top := stack[len(stack)-1]
		switch l.text {
		case "{":
			if last == nil || last.block {
				rep.refuse(l.pos, "unexpected '{': it follows no keyword that takes a block")
				// Keep the braces balanced for the rest of the file.
				anon := &node{line: line{pos: l.pos, text: "{", words: []string{"{"}}, block: true}
				top.children = append(top.children, anon)
				stack = append(stack, anon)
				last = nil
				continue
			}
			last.block = true
			stack = append(stack, last)
			last = nil
		case "}":
			if len(stack) == 1 {
				rep.refuse(l.pos, "extra '}': no block is open here")
				continue
			}
			stack = stack[:len(stack)-1]
			last = top
		default:
			n := &node{line: l}
			top.children = append(top.children, n)
			last = n
		}
	}
	for _, open := range stack[1:] {
		rep.refuse(open.pos, "the block %s opened here is not closed: a '}' is missing (keepalived: \"There are missing '}'s or extra '{'s\")",
			strings.Join(open.words, " "))
	}
	return root.children
}
