import { Component, type ComponentChildren } from 'preact';

interface Props {
  children: ComponentChildren;
  /** What failed, for the message ("the Explorer page"). */
  where: string;
  /** Changing it (e.g. the route) clears a caught error. */
  resetKey?: string;
}

interface State {
  error: Error | null;
  key?: string;
}

/**
 * ErrorBoundary keeps a rendering bug in one page from blanking the whole
 * UI: the page is replaced by the error and a retry button, and the header
 * and navigation keep working. Navigating away (resetKey) clears it.
 */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null, key: this.props.resetKey };

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    if (props.resetKey !== state.key) return { error: null, key: props.resetKey };
    return null;
  }

  static getDerivedStateFromError(error: unknown): Partial<State> {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  componentDidCatch(error: unknown): void {
    // Kept in the console too, with its stack, for whoever debugs it.
    console.error(`error in ${this.props.where}:`, error);
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div class="card error-card" role="alert" data-testid="error-boundary">
        <h2>Something went wrong in {this.props.where}</h2>
        <p class="error-text">{error.message}</p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}
