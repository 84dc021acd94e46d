import { render } from 'preact';
import { App } from './app';
import './styles.css';

// The shell renders synchronously; every network read happens after the
// first paint (see app.tsx), so the header shows up at once.
render(<App />, document.getElementById('app')!);
