package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/npos"
)

func init() { registerCommand(newNposCmd) }

// newNposCmd groups the offline NPoS election tools. They run the same code
// the chain's staking module runs, so an operator can reproduce (or dispute)
// an on-chain election from its inputs.
func newNposCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "npos",
		Short: "Run NPoS elections (seq-Phragmén, PhragMMS) and reduce offline",
		Long: `NPoS election tools. They run the same library as the chain (package npos),
which reproduces Substrate's sp-npos-elections bit for bit: u64 stakes, u128
arithmetic, Rational128 loads, PerThing ratios and upstream's normalisation.

  veil npos elect   run seq-Phragmén or PhragMMS on a JSON election input
  veil npos reduce  remove redundant edges from staked assignments

Amounts are decimal strings in JSON (stakes are u64, results u128); counts
(to_elect, iterations, removed) are JSON numbers.`,
	}
	cmd.AddCommand(newNposElectCmd(), newNposReduceCmd())
	return cmd
}

func newNposElectCmd() *cobra.Command {
	var input string
	cmd := &cobra.Command{
		Use:   "elect --input FILE",
		Short: "Run an NPoS election from a JSON input file",
		Long: `Run seq-Phragmén or PhragMMS (optionally with star balancing) on the election
described by a JSON file and print the winners, the voters' ratio
assignments, the supports and the election score.

Input layout:

  {
    "algorithm": "seq-phragmen",        // or "phragmms"
    "to_elect": 2,                      // number of seats, at least 1
    "accuracy": "perbill",              // perbill | permill | percent | peru16 | perquintill
    "balancing": {"iterations": 4, "tolerance": "0"},   // or null
    "candidates": ["1", "2", "3"],
    "voters": [
      {"id": "10", "stake": "10", "targets": ["1", "2"]}
    ]
  }

Output layout (--output json):

  {
    "winners":     [{"id", "backed_stake"}],            // election order
    "assignments": [{"voter", "distribution": [{"target", "parts"}]}],
    "supports":    [{"target", "total", "voters": [{"id", "stake"}]}],
    "score":       {"minimal_stake", "sum_stake", "sum_stake_squared"}
  }

Assignments follow voter input order (voters backing no winner are dropped),
each distribution the voter's target order, with parts of the chosen accuracy
summing to exactly one. Supports follow the winners' order and are built by
converting the ratios back to stakes normalised to each voter's stake
(assignment_ratio_to_staked_normalized); the score is computed from them.
Targets that are not candidates and repeated targets are ignored, as upstream
does. If to_elect exceeds the candidates, every electable candidate is elected
(upstream's best effort); to_elect 0 or an empty candidate list is an error.`,
		Example: `  # Sequential Phragmén, human-readable
  veil npos elect --input election.json

  # PhragMMS result as JSON (for scripts and test vectors)
  veil npos elect --input election.json -o json

  # Read the input from standard input
  cat election.json | veil npos elect --input -`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "election input JSON file (- for stdin)")
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		data, err := readNposInput(cmd, input)
		if err != nil {
			return err
		}
		in, err := npos.DecodeElectionInput(data)
		if err != nil {
			return fmt.Errorf("read %s: %w", input, err)
		}
		out, err := npos.Elect(in)
		if err != nil {
			return fmt.Errorf("election from %s: %w", input, err)
		}
		return printResult(cmd.OutOrStdout(), *output, out, func(w io.Writer) error {
			return renderElectText(w, in, out)
		})
	}
	return cmd
}

func newNposReduceCmd() *cobra.Command {
	var input string
	cmd := &cobra.Command{
		Use:   "reduce --input FILE",
		Short: "Remove redundant edges from staked assignments",
		Long: `Run Substrate's reduce on staked assignments: cycles in the voter-target graph
are cancelled (first those of length four, then all others) so that fewer
edges carry the same stake. Every voter's total and every target's total
backing are unchanged. The traversal and tie-breaking follow upstream, so the
output is identical to sp-npos-elections' reduce.

Input layout:

  {"assignments": [{"voter": "1", "distribution": [{"target": "10", "stake": "25"}]}]}

Output: the same layout with the reduced assignments, plus "removed", the
number of edges removed (a JSON number). Voters must be unique (upstream
panics otherwise); a target repeated inside one distribution is kept and only
its first entry is updated, as upstream does.`,
		Example: `  # Reduce the staked assignments of a solution
  veil npos reduce --input staked.json

  # As JSON
  veil npos reduce --input staked.json -o json`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "staked assignments JSON file (- for stdin)")
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		data, err := readNposInput(cmd, input)
		if err != nil {
			return err
		}
		in, err := npos.DecodeReduceInput(data)
		if err != nil {
			return fmt.Errorf("read %s: %w", input, err)
		}
		out, err := npos.ReduceJSON(in)
		if err != nil {
			return fmt.Errorf("reduce %s: %w", input, err)
		}
		return printResult(cmd.OutOrStdout(), *output, out, func(w io.Writer) error {
			return renderReduceText(w, out)
		})
	}
	return cmd
}

// readNposInput reads the --input file, or standard input for "-".
func readNposInput(cmd *cobra.Command, path string) ([]byte, error) {
	switch path {
	case "":
		return nil, errors.New("--input is required (a JSON file, or - for stdin)")
	case "-":
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	return data, nil
}

// renderElectText prints an election result as tables.
func renderElectText(w io.Writer, in npos.ElectionInput, out npos.ElectionOutput) error {
	acc, err := npos.ParseAccuracy(in.Accuracy)
	if err != nil {
		return err
	}
	bal := "no balancing"
	if in.Balancing != nil {
		bal = fmt.Sprintf("balancing %s iterations, tolerance %s", in.Balancing.Iterations, in.Balancing.Tolerance.V)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s: %d of %d candidates elected (to_elect %s, %s, %s)\n\n",
		strings.ToLower(in.Algorithm), len(out.Winners), len(in.Candidates), in.ToElect, acc, bal)
	fmt.Fprintln(tw, "#\tWINNER\tBACKED STAKE")
	for i, wn := range out.Winners {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", i+1, wn.ID, wn.BackedStake.V)
	}
	fmt.Fprintln(tw, "\nVOTER\tTARGET\tPARTS\tSHARE")
	for _, a := range out.Assignments {
		for j, d := range a.Distribution {
			voter := ""
			if j == 0 {
				voter = string(a.Voter)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", voter, d.Target, d.Parts.V, percentOf(d.Parts.V.Lo, acc.One()))
		}
	}
	fmt.Fprintln(tw, "\nTARGET\tTOTAL\tVOTER\tSTAKE")
	for _, s := range out.Supports {
		for j, b := range s.Voters {
			target, total := "", ""
			if j == 0 {
				target, total = string(s.Target), s.Total.V.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", target, total, b.ID, b.Stake.V)
		}
	}
	fmt.Fprintf(tw, "\nscore: minimal_stake %s, sum_stake %s, sum_stake_squared %s\n",
		out.Score.MinimalStake.V, out.Score.SumStake.V, out.Score.SumStakeSquared.V)
	return tw.Flush()
}

// percentOf renders parts/one as a percentage with four decimals, using
// integer arithmetic only.
func percentOf(parts, one uint64) string {
	if one == 0 {
		return "-"
	}
	p, _ := npos.MulDivRounding(npos.U128(parts), npos.U128(1_000_000), npos.U128(one), npos.RoundNearestPrefDown)
	return fmt.Sprintf("%d.%04d%%", p.Lo/10_000, p.Lo%10_000)
}

// renderReduceText prints reduced assignments as a table.
func renderReduceText(w io.Writer, out npos.ReduceOutput) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	edges := 0
	for _, a := range out.Assignments {
		edges += len(a.Distribution)
	}
	fmt.Fprintf(tw, "removed %d edges; %d remain across %d voters\n\n", out.Removed, edges, len(out.Assignments))
	fmt.Fprintln(tw, "VOTER\tTARGET\tSTAKE")
	for _, a := range out.Assignments {
		if len(a.Distribution) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\n", a.Voter)
		}
		for j, d := range a.Distribution {
			voter := ""
			if j == 0 {
				voter = string(a.Voter)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", voter, d.Target, d.Stake.V)
		}
	}
	return tw.Flush()
}
